//! What governance, operators and strangers can do to the validator set, and when a change
//! reaches the set that authors and votes.

use crate::{migrations, mock::*, Changed, Error, Event, Validators};
use codec::Encode;
use frame_support::{
	assert_noop, assert_ok,
	traits::{Get, OnRuntimeUpgrade},
};
use sp_runtime::{testing::UintAuthorityId, DispatchError, RuntimeAppPublic};

fn set_keys(who: u64) -> sp_runtime::DispatchResult {
	let proof = UintAuthorityId(who).sign(&who.encode()).expect("test keys sign").encode();
	Session::set_keys(RuntimeOrigin::signed(who), who.into(), proof)
}

fn validators() -> Vec<u64> {
	ValidatorSet::validators()
}

fn check() {
	ValidatorSet::do_try_state().expect("invariants hold");
}

#[test]
fn genesis_validators_author_and_vote() {
	new_test_ext().execute_with(|| {
		assert_eq!(validators(), vec![1, 2, 3]);
		assert_eq!(Authorities::get(), vec![1, 2, 3]);
		assert_eq!(pallet_session::Validators::<Test>::get(), vec![1, 2, 3]);
		check();
	});
}

#[test]
fn the_session_period_comes_from_the_genesis_or_the_default() {
	new_test_ext().execute_with(|| {
		assert_eq!(crate::SessionPeriodOf::<Test>::get(), PERIOD);
		crate::SessionPeriod::<Test>::kill();
		assert_eq!(crate::SessionPeriodOf::<Test>::get(), 100);
		// A zero in storage never reaches the session pallet (it divides by the period).
		crate::SessionPeriod::<Test>::put(0);
		assert_eq!(crate::SessionPeriodOf::<Test>::get(), 1);
	});
}

#[test]
fn a_genesis_with_session_keys_only_keeps_its_validators_at_the_first_change() {
	use sp_runtime::BuildStorage;
	let mut t = funded_storage();
	pallet_session::GenesisConfig::<Test> {
		keys: (1..=3).map(|a| (a, a, a.into())).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut t)
	.unwrap();
	sp_io::TestExternalities::new(t).execute_with(|| {
		System::set_block_number(1);
		crate::SessionPeriod::<Test>::put(PERIOD);
		assert!(validators().is_empty());
		assert_ok!(set_keys(4));
		assert_ok!(ValidatorSet::add_validator(RuntimeOrigin::root(), 4));
		assert_eq!(validators(), vec![1, 2, 3, 4]);
		next_session();
		next_session();
		assert_eq!(Authorities::get(), vec![1, 2, 3, 4]);
	});
}

#[test]
fn an_added_validator_authors_from_the_second_session_boundary() {
	new_test_ext().execute_with(|| {
		assert_ok!(set_keys(4));
		assert_ok!(ValidatorSet::add_validator(RuntimeOrigin::root(), 4));
		System::assert_last_event(Event::ValidatorAdded { who: 4 }.into());
		assert_eq!(validators(), vec![1, 2, 3, 4]);
		// Queued at the first boundary...
		next_session();
		assert_eq!(Authorities::get(), vec![1, 2, 3]);
		assert_eq!(pallet_session::QueuedKeys::<Test>::get().len(), 4);
		// ...in force from the second.
		next_session();
		assert_eq!(Authorities::get(), vec![1, 2, 3, 4]);
		assert_eq!(LastChanged::get(), Some(true));
		check();
	});
}

#[test]
fn a_removed_validator_no_longer_authors_or_votes() {
	new_test_ext().execute_with(|| {
		assert_ok!(ValidatorSet::remove_validator(RuntimeOrigin::root(), 3));
		System::assert_last_event(Event::ValidatorRemoved { who: 3 }.into());
		next_session();
		assert_eq!(Authorities::get(), vec![1, 2, 3]);
		next_session();
		assert_eq!(Authorities::get(), vec![1, 2]);
		assert_eq!(pallet_session::Validators::<Test>::get(), vec![1, 2]);
		check();
	});
}

#[test]
fn no_set_change_at_a_boundary_unless_the_set_changed() {
	new_test_ext().execute_with(|| {
		// Without a call, sessions come and go with no change: GRANDPA starts no new set.
		for _ in 0..4 {
			next_session();
			assert_eq!(LastChanged::get(), Some(false));
		}
		assert!(!Changed::<Test>::get());
		// One change is handed over once, then nothing again.
		assert_ok!(set_keys(4));
		assert_ok!(ValidatorSet::add_validator(RuntimeOrigin::root(), 4));
		assert!(Changed::<Test>::get());
		next_session();
		assert!(!Changed::<Test>::get());
		next_session();
		assert_eq!(LastChanged::get(), Some(true));
		next_session();
		assert_eq!(LastChanged::get(), Some(false));
	});
}

#[test]
fn only_governance_adds_or_removes() {
	new_test_ext().execute_with(|| {
		assert_ok!(set_keys(4));
		// An operator adding itself, a validator removing another, a validator adding a friend.
		assert_noop!(
			ValidatorSet::add_validator(RuntimeOrigin::signed(4), 4),
			DispatchError::BadOrigin
		);
		assert_noop!(
			ValidatorSet::remove_validator(RuntimeOrigin::signed(1), 2),
			DispatchError::BadOrigin
		);
		assert_noop!(
			ValidatorSet::add_validator(RuntimeOrigin::signed(1), 4),
			DispatchError::BadOrigin
		);
		assert_noop!(
			ValidatorSet::remove_validator(RuntimeOrigin::none(), 1),
			DispatchError::BadOrigin
		);
		assert_eq!(validators(), vec![1, 2, 3]);
	});
}

#[test]
fn keys_alone_do_not_make_a_validator() {
	new_test_ext().execute_with(|| {
		assert_ok!(set_keys(5));
		for _ in 0..3 {
			next_session();
		}
		assert_eq!(Authorities::get(), vec![1, 2, 3]);
		assert_eq!(validators(), vec![1, 2, 3]);
		// The key deposit is held from the account that set them.
		assert_eq!(Balances::free_balance(5), 1_000 - KEY_DEPOSIT);
	});
}

#[test]
fn keys_of_another_cannot_be_claimed() {
	new_test_ext().execute_with(|| {
		// Account 5 registers validator 1's key with a proof it cannot make (signed for 5 by a
		// key that is not 1's): refused; with no proof at all: refused.
		let forged = UintAuthorityId(5).sign(&5u64.encode()).expect("sign").encode();
		assert!(Session::set_keys(RuntimeOrigin::signed(5), 1.into(), forged).is_err());
		assert!(Session::set_keys(RuntimeOrigin::signed(5), 1.into(), Vec::new()).is_err());
		assert_eq!(
			pallet_session::KeyOwner::<Test>::get((UintAuthorityId::ID, 1u64.encode())),
			Some(1)
		);
	});
}

#[test]
fn every_refusal_names_its_reason() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			ValidatorSet::add_validator(RuntimeOrigin::root(), 4),
			Error::<Test>::NoSessionKeys
		);
		assert_noop!(
			ValidatorSet::add_validator(RuntimeOrigin::root(), 2),
			Error::<Test>::AlreadyValidator
		);
		assert_noop!(
			ValidatorSet::remove_validator(RuntimeOrigin::root(), 7),
			Error::<Test>::NotValidator
		);
		assert_ok!(set_keys(4));
		assert_ok!(set_keys(5));
		assert_ok!(ValidatorSet::add_validator(RuntimeOrigin::root(), 4));
		assert_noop!(
			ValidatorSet::add_validator(RuntimeOrigin::root(), 5),
			Error::<Test>::TooManyValidators
		);
		assert_ok!(ValidatorSet::remove_validator(RuntimeOrigin::root(), 4));
		assert_ok!(ValidatorSet::remove_validator(RuntimeOrigin::root(), 3));
		assert_noop!(
			ValidatorSet::remove_validator(RuntimeOrigin::root(), 2),
			Error::<Test>::TooFewValidators
		);
		assert_eq!(validators(), vec![1, 2]);
		check();
	});
}

#[test]
fn a_validator_that_purges_its_keys_is_skipped_not_fatal() {
	new_test_ext().execute_with(|| {
		assert_ok!(set_keys(4));
		assert_ok!(ValidatorSet::add_validator(RuntimeOrigin::root(), 4));
		assert_ok!(Session::purge_keys(RuntimeOrigin::signed(4)));
		next_session();
		next_session();
		// The session pallet leaves out a validator without keys; the others carry on.
		assert_eq!(Authorities::get(), vec![1, 2, 3]);
	});
}

frame_support::parameter_types! {
	/// The authorities of the chain before the migration: accounts 1 and 2, each with its key.
	pub FixedAuthorities: Vec<(u64, MockSessionKeys)> = vec![(1, 1.into()), (2, 2.into())];
}

/// A chain with fixed authorities: no session state, no validator set.
fn fixed_authorities_ext() -> sp_io::TestExternalities {
	let mut ext = sp_io::TestExternalities::new(funded_storage());
	ext.execute_with(|| {
		System::set_block_number(1);
		// A migrated chain runs on the runtime's default period; these tests count in the
		// mock's sessions of PERIOD blocks.
		crate::SessionPeriod::<Test>::put(PERIOD);
	});
	ext
}

type Migrate = migrations::v1::FromFixedAuthorities<Test, FixedAuthorities>;

#[test]
fn migration_makes_the_fixed_authorities_validators_with_their_keys() {
	fixed_authorities_ext().execute_with(|| {
		Migrate::on_runtime_upgrade();
		assert_eq!(validators(), vec![1, 2]);
		assert_eq!(pallet_session::Validators::<Test>::get(), vec![1, 2]);
		assert_eq!(pallet_session::QueuedKeys::<Test>::get(), vec![(1, 1.into()), (2, 2.into())]);
		assert_eq!(pallet_session::NextKeys::<Test>::get(2), Some(2.into()));
		assert_eq!(
			pallet_session::KeyOwner::<Test>::get((UintAuthorityId::ID, 2u64.encode())),
			Some(2)
		);
		check();
		// The first boundary after it changes nothing: same keys, no new GRANDPA set.
		next_session();
		assert_eq!(LastChanged::get(), Some(false));
		// Run again (it may stay in the runtime's migrations): it sees the sessions and writes
		// nothing, even if the validator set were emptied.
		Validators::<Test>::kill();
		Migrate::on_runtime_upgrade();
		assert!(validators().is_empty());
		assert_eq!(pallet_session::Validators::<Test>::get(), vec![1, 2]);
	});
}

#[test]
fn after_migration_governance_adds_a_validator() {
	fixed_authorities_ext().execute_with(|| {
		Migrate::on_runtime_upgrade();
		assert_ok!(set_keys(3));
		assert_ok!(ValidatorSet::add_validator(RuntimeOrigin::root(), 3));
		next_session();
		next_session();
		assert_eq!(Authorities::get(), vec![1, 2, 3]);
		// The migrated validators' keys can be purged like keys set by hand (no deposit held).
		assert_ok!(Session::purge_keys(RuntimeOrigin::signed(1)));
		assert_eq!(Balances::free_balance(1), 1_000);
	});
}

#[test]
fn migration_refuses_a_chain_that_already_has_sessions() {
	new_test_ext().execute_with(|| {
		Validators::<Test>::kill();
		Migrate::on_runtime_upgrade();
		// Nothing written over the session pallet's state.
		assert!(validators().is_empty());
		assert_eq!(pallet_session::Validators::<Test>::get(), vec![1, 2, 3]);
	});
}
