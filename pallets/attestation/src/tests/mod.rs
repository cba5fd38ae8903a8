//! Unit tests of the verifier registry; channel tests are in `channels.rs`.

mod channels;
mod migrations;
mod relay;

use crate::{mock::*, Error, Event, HoldReason, Verifiers};
use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold},
};

const ENDPOINT: &[u8] = b"https://verifier.example/v1";

fn held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::VerifierDeposit.into(), &who)
}

#[test]
fn register_holds_deposit_and_emits_event() {
	new_test_ext().execute_with(|| {
		let issuance = Balances::total_issuance();
		assert_ok!(Attestation::register_verifier(
			RuntimeOrigin::signed(account(ALICE)),
			ENDPOINT.to_vec(),
			7,
			MIN_CHALLENGE
		));
		let info = Verifiers::<Test>::get(account(ALICE)).expect("registered");
		assert_eq!(info.endpoint.to_vec(), ENDPOINT.to_vec());
		assert_eq!(info.price, 7);
		assert_eq!(info.deposit, VERIFIER_DEPOSIT);
		assert_eq!(held(account(ALICE)), VERIFIER_DEPOSIT);
		assert_eq!(Balances::balance(&account(ALICE)), INITIAL_BALANCE - VERIFIER_DEPOSIT);
		assert_eq!(Balances::total_issuance(), issuance);
		System::assert_last_event(
			Event::VerifierRegistered {
				verifier: account(ALICE),
				endpoint: info.endpoint,
				price: 7,
				min_challenge_period: MIN_CHALLENGE,
				deposit: VERIFIER_DEPOSIT,
			}
			.into(),
		);
	});
}

#[test]
fn register_twice_fails_without_side_effects() {
	new_test_ext().execute_with(|| {
		assert_ok!(Attestation::register_verifier(
			RuntimeOrigin::signed(account(ALICE)),
			ENDPOINT.to_vec(),
			7,
			MIN_CHALLENGE
		));
		assert_noop!(
			Attestation::register_verifier(
				RuntimeOrigin::signed(account(ALICE)),
				ENDPOINT.to_vec(),
				9,
				MIN_CHALLENGE
			),
			Error::<Test>::AlreadyRegistered
		);
		assert_eq!(held(account(ALICE)), VERIFIER_DEPOSIT);
	});
}

#[test]
fn register_rejects_bad_endpoints() {
	new_test_ext().execute_with(|| {
		let origin = || RuntimeOrigin::signed(account(ALICE));
		for bad in [
			&b""[..],
			b"https://",
			b"http://",
			b"ftp://x.example",
			b"verifier.example",
			b"https://has space.example",
			b"https://ctl\n.example",
			b"http",
		] {
			assert_noop!(
				Attestation::register_verifier(origin(), bad.to_vec(), 1, MIN_CHALLENGE),
				Error::<Test>::InvalidEndpoint
			);
		}
		assert_noop!(
			Attestation::register_verifier(origin(), [b'a'; 65].to_vec(), 1, MIN_CHALLENGE),
			Error::<Test>::EndpointTooLong
		);
		// Exactly the limit is fine.
		let mut max = b"https://".to_vec();
		max.resize(64, b'a');
		assert_ok!(Attestation::register_verifier(origin(), max, 1, MIN_CHALLENGE));
	});
}

#[test]
fn register_without_funds_fails() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Attestation::register_verifier(
				RuntimeOrigin::signed(account(POOR)),
				ENDPOINT.to_vec(),
				1,
				MIN_CHALLENGE
			),
			Error::<Test>::InsufficientDeposit
		);
		assert!(Verifiers::<Test>::get(account(POOR)).is_none());
	});
}

#[test]
fn update_changes_fields_and_requires_registration() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Attestation::update_verifier(RuntimeOrigin::signed(account(BOB)), None, Some(3), None),
			Error::<Test>::NotRegistered
		);
		assert_ok!(Attestation::register_verifier(
			RuntimeOrigin::signed(account(BOB)),
			ENDPOINT.to_vec(),
			7,
			MIN_CHALLENGE
		));
		assert_noop!(
			Attestation::update_verifier(RuntimeOrigin::signed(account(BOB)), None, None, None),
			Error::<Test>::NothingToUpdate
		);
		assert_noop!(
			Attestation::update_verifier(
				RuntimeOrigin::signed(account(BOB)),
				Some(b"nope".to_vec()),
				Some(3),
				None
			),
			Error::<Test>::InvalidEndpoint
		);
		assert_ok!(Attestation::update_verifier(
			RuntimeOrigin::signed(account(BOB)),
			None,
			Some(3),
			None
		));
		assert_eq!(Verifiers::<Test>::get(account(BOB)).unwrap().price, 3);
		let new = b"http://10.0.0.1:8080".to_vec();
		assert_ok!(Attestation::update_verifier(
			RuntimeOrigin::signed(account(BOB)),
			Some(new.clone()),
			None,
			None
		));
		let info = Verifiers::<Test>::get(account(BOB)).unwrap();
		assert_eq!((info.endpoint.to_vec(), info.price), (new, 3));
		System::assert_last_event(
			Event::VerifierUpdated {
				verifier: account(BOB),
				endpoint: info.endpoint,
				price: 3,
				min_challenge_period: MIN_CHALLENGE,
			}
			.into(),
		);
		// The deposit does not change on update.
		assert_eq!(held(account(BOB)), VERIFIER_DEPOSIT);
	});
}

#[test]
fn unregister_returns_deposit() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Attestation::unregister_verifier(RuntimeOrigin::signed(account(ALICE))),
			Error::<Test>::NotRegistered
		);
		assert_ok!(Attestation::register_verifier(
			RuntimeOrigin::signed(account(ALICE)),
			ENDPOINT.to_vec(),
			7,
			MIN_CHALLENGE
		));
		assert_ok!(Attestation::unregister_verifier(RuntimeOrigin::signed(account(ALICE))));
		assert_eq!(held(account(ALICE)), 0);
		assert_eq!(Balances::balance(&account(ALICE)), INITIAL_BALANCE);
		assert!(Verifiers::<Test>::get(account(ALICE)).is_none());
		System::assert_last_event(
			Event::VerifierUnregistered {
				verifier: account(ALICE),
				deposit_released: VERIFIER_DEPOSIT,
			}
			.into(),
		);
		// Registering again works and holds again.
		assert_ok!(Attestation::register_verifier(
			RuntimeOrigin::signed(account(ALICE)),
			ENDPOINT.to_vec(),
			1,
			MIN_CHALLENGE
		));
		assert_eq!(held(account(ALICE)), VERIFIER_DEPOSIT);
	});
}

#[test]
fn unsigned_origins_are_rejected() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Attestation::register_verifier(
				RuntimeOrigin::none(),
				ENDPOINT.to_vec(),
				1,
				MIN_CHALLENGE
			),
			sp_runtime::DispatchError::BadOrigin
		);
		assert_noop!(
			Attestation::unregister_verifier(RuntimeOrigin::root()),
			sp_runtime::DispatchError::BadOrigin
		);
	});
}
