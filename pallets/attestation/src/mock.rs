//! Mock runtime for the attestation pallet's unit tests.

use crate as pallet_attestation;
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU32, ConstU64},
};
use sp_runtime::BuildStorage;
use sp_runtime::Perbill;

type Block = frame_system::mocking::MockBlock<Test>;
pub type AccountId = sp_runtime::AccountId32;
pub type Balance = u128;

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
	pub type Attestation = pallet_attestation;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountId = AccountId;
	type Lookup = sp_runtime::traits::IdentityLookup<AccountId>;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = Balance;
	type AccountStore = System;
	type ExistentialDeposit = ExistentialDeposit;
	type RuntimeHoldReason = RuntimeHoldReason;
}

pub const EXISTENTIAL_DEPOSIT: Balance = 10;
pub const VERIFIER_DEPOSIT: Balance = 1_000;
pub const MIN_CHANNEL_DEPOSIT: Balance = 100;
pub const MIN_TOP_UP: Balance = 50;
pub const MIN_CHALLENGE: u64 = 5;
pub const MAX_CHALLENGE: u64 = 1_000;
pub const MAX_HTLCS: u32 = 4;
pub const MAX_FUNDINGS: u32 = 5;

parameter_types! {
	pub const ExistentialDeposit: Balance = EXISTENTIAL_DEPOSIT;
	pub const VerifierDeposit: Balance = VERIFIER_DEPOSIT;
	pub const MinChannelDeposit: Balance = MIN_CHANNEL_DEPOSIT;
	pub const MinTopUp: Balance = MIN_TOP_UP;
	pub static StaleClosePenalty: Perbill = Perbill::from_percent(10);
}

impl pallet_attestation::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type VerifierDeposit = VerifierDeposit;
	type MaxEndpointLen = ConstU32<64>;
	type MinChannelDeposit = MinChannelDeposit;
	type MinTopUp = MinTopUp;
	type MinChallengePeriod = ConstU64<MIN_CHALLENGE>;
	type MaxChallengePeriod = ConstU64<MAX_CHALLENGE>;
	type MaxHtlcs = ConstU32<MAX_HTLCS>;
	type MaxFundings = ConstU32<MAX_FUNDINGS>;
	type StaleClosePenalty = StaleClosePenalty;
	type WeightInfo = ();
}

pub use sp_keyring::Sr25519Keyring as Keyring;

pub fn account(k: Keyring) -> AccountId {
	k.to_account_id()
}

/// Requester in most tests.
pub const ALICE: Keyring = Keyring::Alice;
/// Verifier in most tests.
pub const BOB: Keyring = Keyring::Bob;
/// A third party (watchtower, stranger).
pub const CHARLIE: Keyring = Keyring::Charlie;
/// An account with less than the verifier deposit.
pub const POOR: Keyring = Keyring::Dave;
pub const INITIAL_BALANCE: Balance = 1_000_000;
/// Genesis hash the mock chain reports (block 0's hash).
pub const GENESIS: [u8; 32] = [0x6e; 32];

pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: vec![
			(account(ALICE), INITIAL_BALANCE),
			(account(BOB), INITIAL_BALANCE),
			(account(CHARLIE), INITIAL_BALANCE),
			(account(POOR), 500),
		],
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext: sp_io::TestExternalities = storage.into();
	// Benchmarks sign states with keys from the keystore, as `benchmark pallet` allows.
	ext.register_extension(sp_keystore::KeystoreExt::new(
		sp_keystore::testing::MemoryKeystore::new(),
	));
	ext.execute_with(|| {
		frame_system::BlockHash::<Test>::insert(0, sp_core::H256(GENESIS));
		System::set_block_number(1);
	});
	ext
}
