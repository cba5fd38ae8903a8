//! Mock runtime: System, Balances, Session (periodic sessions of 5 blocks, one dummy key per
//! validator) and this pallet as the session manager. The session handler records the set the
//! consensus pallets would be handed, so tests see who authors and votes after a change.

use crate as pallet_validator_set;
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU32, ConstU64, OnFinalize, OnInitialize},
};
use frame_system::EnsureRoot;
use pallet_session::{PeriodicSessions, SessionHandler};
use sp_runtime::{
	impl_opaque_keys,
	testing::UintAuthorityId,
	traits::{ConvertInto, OpaqueKeys},
	BuildStorage, KeyTypeId, RuntimeAppPublic,
};

type Block = frame_system::mocking::MockBlock<Test>;

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Test;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type Balances = pallet_balances;
	#[runtime::pallet_index(2)]
	pub type ValidatorSet = pallet_validator_set;
	#[runtime::pallet_index(3)]
	pub type Session = pallet_session;
}

impl_opaque_keys! {
	pub struct MockSessionKeys {
		pub dummy: UintAuthorityId,
	}
}

impl From<u64> for MockSessionKeys {
	fn from(id: u64) -> Self {
		Self { dummy: UintAuthorityId(id) }
	}
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<u64>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
}

parameter_types! {
	/// The keys of the set in force, as the last `on_new_session` handed them (what Aura and
	/// GRANDPA would author and vote with), and whether it said the set changed.
	pub static Authorities: Vec<u64> = Vec::new();
	pub static LastChanged: Option<bool> = None;
}

pub struct RecordingHandler;
impl SessionHandler<u64> for RecordingHandler {
	const KEY_TYPE_IDS: &'static [KeyTypeId] = &[UintAuthorityId::ID];
	fn on_genesis_session<K: OpaqueKeys>(validators: &[(u64, K)]) {
		Authorities::set(keys_of(validators));
	}
	fn on_new_session<K: OpaqueKeys>(changed: bool, validators: &[(u64, K)], _: &[(u64, K)]) {
		LastChanged::set(Some(changed));
		if changed {
			Authorities::set(keys_of(validators));
		}
	}
	fn on_disabled(_: u32) {}
}

fn keys_of<K: OpaqueKeys>(validators: &[(u64, K)]) -> Vec<u64> {
	validators
		.iter()
		.map(|(_, k)| k.get::<UintAuthorityId>(UintAuthorityId::ID).map_or(0, |k| k.0))
		.collect()
}

pub const PERIOD: u64 = 5;
pub const KEY_DEPOSIT: u64 = 10;

impl pallet_session::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type ValidatorId = u64;
	type ValidatorIdOf = ConvertInto;
	type ShouldEndSession =
		PeriodicSessions<pallet_validator_set::SessionPeriodOf<Test>, ConstU64<0>>;
	type NextSessionRotation =
		PeriodicSessions<pallet_validator_set::SessionPeriodOf<Test>, ConstU64<0>>;
	type SessionManager = ValidatorSet;
	type SessionHandler = RecordingHandler;
	type Keys = MockSessionKeys;
	type DisablingStrategy = ();
	type WeightInfo = ();
	type Currency = Balances;
	type KeyDeposit = ConstU64<KEY_DEPOSIT>;
}

impl pallet_validator_set::Config for Test {
	type AddRemoveOrigin = EnsureRoot<u64>;
	type MaxValidators = ConstU32<4>;
	type MinValidators = ConstU32<2>;
	type DefaultSessionPeriod = ConstU64<100>;
	type WeightInfo = ();
}

/// Accounts 1..=9 hold 1,000; nothing else.
pub fn funded_storage() -> sp_runtime::Storage {
	let mut t = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: (1..=9).map(|a| (a, 1_000)).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut t)
	.unwrap();
	t
}

/// Validators 1, 2, 3 (key ids equal to the accounts); accounts 1..=9 hold 1,000.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut t = funded_storage();
	pallet_validator_set::GenesisConfig::<Test> {
		initial_validators: vec![1, 2, 3],
		session_period: Some(PERIOD),
	}
	.assimilate_storage(&mut t)
	.unwrap();
	pallet_session::GenesisConfig::<Test> {
		keys: (1..=3).map(|a| (a, a, a.into())).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut t)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(t);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Run blocks up to and including `n`, with the session pallet's hooks.
pub fn run_to(n: u64) {
	while System::block_number() < n {
		Session::on_finalize(System::block_number());
		System::set_block_number(System::block_number() + 1);
		Session::on_initialize(System::block_number());
	}
}

/// Run to the end of the current session (the first block of the next one).
pub fn next_session() {
	let now = System::block_number();
	run_to((now / PERIOD + 1) * PERIOD);
}
