//! The attestation pallet's calls in random sequences, by random parties, on its mock runtime
//! (FRAME, pallet-balances): opens, top-ups, checkpoints, cooperative and unilateral closes
//! with well-formed next states or the on-chain one, challenges, bill-key reveals, blocks
//! passing, settles, HTLC claims and refunds. After every call no unit is created or lost
//! (total issuance) and the pallet's `try_state` holds (every deposit hold equals what open
//! channels and claimable HTLCs owe, every state conserves its fundings and extends its
//! anchored log); at the end every channel is closed, settled and its HTLCs refunded, and
//! Alice and Bob hold every unit again. The property test `calls_conserve_funds` draws the same
//! calls with proptest (`pallet_attestation::harness`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| pallet_attestation::harness::fuzz_calls(data));
