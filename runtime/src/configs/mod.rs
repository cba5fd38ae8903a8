//! `Config` of every pallet in the runtime.

use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstBool, ConstU128, ConstU32, ConstU64, ConstU8, VariantCountOf},
	weights::{
		constants::{ParityDbWeight, WEIGHT_REF_TIME_PER_SECOND},
		IdentityFee, Weight,
	},
};
use frame_system::limits::{BlockLength, BlockWeights};
use pallet_transaction_payment::{FungibleAdapter, Multiplier, TargetedFeeAdjustment};
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_runtime::{
	traits::{Bounded, ConvertInto, OpaqueKeys},
	FixedPointNumber, Perbill, Perquintill,
};
use sp_version::RuntimeVersion;

use super::{
	AccountId, Aura, Balance, Balances, Block, BlockNumber, Hash, Nonce, PalletInfo, Runtime,
	RuntimeCall, RuntimeEvent, RuntimeFreezeReason, RuntimeHoldReason, RuntimeOrigin, RuntimeTask,
	SessionKeys, System, ValidatorSet, BLOCK_HASH_COUNT, DAYS, EXISTENTIAL_DEPOSIT, MINUTES,
	SESSION_PERIOD, SLOT_DURATION, UNIT, VERSION,
};

const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

parameter_types! {
	pub const BlockHashCount: BlockNumber = BLOCK_HASH_COUNT;
	pub const Version: RuntimeVersion = VERSION;

	/// Two seconds of compute per six-second block.
	pub RuntimeBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
		Weight::from_parts(2u64 * WEIGHT_REF_TIME_PER_SECOND, u64::MAX),
		NORMAL_DISPATCH_RATIO,
	);
	pub RuntimeBlockLength: BlockLength = BlockLength::builder()
		.max_length(5 * 1024 * 1024)
		.modify_max_length_for_class(frame_support::dispatch::DispatchClass::Normal, |m| {
			*m = NORMAL_DISPATCH_RATIO * *m
		})
		.build();
	/// Generic Substrate SS58 prefix.
	pub const SS58Prefix: u16 = 42;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type Block = Block;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type AccountId = AccountId;
	type Nonce = Nonce;
	type Hash = Hash;
	type BlockHashCount = BlockHashCount;
	/// The node stores state in ParityDB (RocksDB is not compiled in).
	type DbWeight = ParityDbWeight;
	type Version = Version;
	type AccountData = pallet_balances::AccountData<Balance>;
	type SS58Prefix = SS58Prefix;
	type MaxConsumers = ConstU32<16>;
}

impl pallet_aura::Config for Runtime {
	type AuthorityId = AuraId;
	type DisabledValidators = ();
	type MaxAuthorities = ConstU32<32>;
	type AllowMultipleBlocksPerSlot = ConstBool<false>;
	type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Runtime>;
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<32>;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<0>;
	type KeyOwnerProof = sp_core::Void;
	type EquivocationReportSystem = ();
}

impl pallet_timestamp::Config for Runtime {
	/// Milliseconds since the Unix epoch.
	type Moment = u64;
	type OnTimestampSet = Aura;
	type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
	type WeightInfo = ();
}

impl pallet_balances::Config for Runtime {
	type MaxLocks = ConstU32<50>;
	type MaxReserves = ();
	type ReserveIdentifier = [u8; 8];
	type Balance = Balance;
	type RuntimeEvent = RuntimeEvent;
	type DustRemoval = ();
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = System;
	type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type DoneSlashHandler = ();
}

parameter_types! {
	/// Fees start to rise when blocks are more than a quarter full, as on Polkadot.
	pub const TargetBlockFullness: Perquintill = Perquintill::from_percent(25);
	/// How fast they rise: Polkadot's rate per 6 s block (about x2.25 per day of full blocks,
	/// much faster than linearly over longer stretches).
	pub AdjustmentVariable: Multiplier = Multiplier::saturating_from_rational(75, 1_000_000);
	/// Fees never fall below the base fee: filling blocks to censor a channel's challenge
	/// always costs at least the base fee of every block (see docs/pallet.md).
	pub MinimumMultiplier: Multiplier = Multiplier::saturating_from_integer(1);
	pub MaximumMultiplier: Multiplier = Bounded::max_value();
}

/// The fee multiplier after each block: up when the block was fuller than the target.
pub type SlowAdjustingFeeUpdate<R> = TargetedFeeAdjustment<
	R,
	TargetBlockFullness,
	AdjustmentVariable,
	MinimumMultiplier,
	MaximumMultiplier,
>;

impl pallet_transaction_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type OnChargeTransaction = FungibleAdapter<Balances, ()>;
	type OperationalFeeMultiplier = ConstU8<5>;
	type WeightToFee = IdentityFee<Balance>;
	type LengthToFee = IdentityFee<Balance>;
	type FeeMultiplierUpdate = SlowAdjustingFeeUpdate<Self>;
	type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}

impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	/// Held from a verifier while it is registered (covers its storage).
	pub const VerifierDeposit: Balance = UNIT;
	/// Smallest channel deposit (also covers the channel's storage).
	pub const MinChannelDeposit: Balance = UNIT / 10;
	/// Smallest top-up: each channel has only 15 (7 per party).
	pub const MinTopUp: Balance = UNIT / 100;
	/// A stale closer pays 10% of its final balance to the counterparty.
	pub const StaleClosePenalty: Perbill = Perbill::from_percent(10);
}

impl pallet_attestation::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type VerifierDeposit = VerifierDeposit;
	type MaxEndpointLen = ConstU32<256>;
	type MinChannelDeposit = MinChannelDeposit;
	type MinTopUp = MinTopUp;
	/// One minute at least.
	type MinChallengePeriod = ConstU32<{ MINUTES }>;
	/// One week at most.
	type MaxChallengePeriod = ConstU32<{ 7 * DAYS }>;
	type MaxHtlcs = ConstU32<{ pallet_attestation::MAX_PENDING_HTLCS }>;
	type MaxFundings = ConstU32<16>;
	type StaleClosePenalty = StaleClosePenalty;
	type WeightInfo = pallet_attestation::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	pub const SessionOffset: BlockNumber = 0;
	/// Held from an account while it has session keys registered (covers their storage).
	pub const SessionKeyDeposit: Balance = UNIT / 10;
}

/// Sessions of `validatorSet.sessionPeriod` blocks (the chain spec's; [`SESSION_PERIOD`] if it
/// gives none). The validator set pallet is the session manager;
/// Aura and GRANDPA (the keys of [`SessionKeys`]) are handed each new set.
impl pallet_session::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type ValidatorId = AccountId;
	type ValidatorIdOf = ConvertInto;
	type ShouldEndSession = pallet_session::PeriodicSessions<
		pallet_validator_set::SessionPeriodOf<Runtime>,
		SessionOffset,
	>;
	type NextSessionRotation = pallet_session::PeriodicSessions<
		pallet_validator_set::SessionPeriodOf<Runtime>,
		SessionOffset,
	>;
	type SessionManager = ValidatorSet;
	type SessionHandler = <SessionKeys as OpaqueKeys>::KeyTypeIdProviders;
	type Keys = SessionKeys;
	/// No offences are reported on this chain: governance removes a misbehaving validator.
	type DisablingStrategy = ();
	type WeightInfo = pallet_session::weights::SubstrateWeight<Runtime>;
	type Currency = Balances;
	type KeyDeposit = SessionKeyDeposit;
}

impl pallet_validator_set::Config for Runtime {
	/// Sudo on the `dev` and `local` chains; a network with a council would put its collective
	/// origin here (docs/operators.md).
	type AddRemoveOrigin = frame_system::EnsureRoot<AccountId>;
	/// Aura's and GRANDPA's `MaxAuthorities`.
	type MaxValidators = ConstU32<32>;
	type MinValidators = ConstU32<1>;
	type DefaultSessionPeriod = ConstU32<SESSION_PERIOD>;
	type WeightInfo = pallet_validator_set::weights::SubstrateWeight<Runtime>;
}
