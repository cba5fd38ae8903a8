//! Storage migrations: each runs once, from its version, and keeps what is stored.

use crate::{migrations::v2::MigrateV1ToV2, mock::*, Channels, Pallet, Verifiers};
use codec::Encode;
use frame_support::{
	assert_ok,
	traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion},
};

fn db() -> frame_support::weights::RuntimeDbWeight {
	<<Test as frame_system::Config>::DbWeight as frame_support::traits::Get<_>>::get()
}

#[test]
fn v1_to_v2_runs_once_and_keeps_channels() {
	new_test_ext().execute_with(|| {
		// (A runtime's genesis writes the in-code version; the mock's storage starts empty.)
		assert_eq!(Pallet::<Test>::in_code_storage_version(), 2);
		assert_ok!(Attestation::register_verifier(
			RuntimeOrigin::signed(account(BOB)),
			b"https://bob.example".to_vec(),
			1,
			MIN_CHALLENGE
		));
		assert_ok!(Attestation::open_channel(
			RuntimeOrigin::signed(account(ALICE)),
			account(BOB),
			500,
			MIN_CHALLENGE
		));
		let channels: Vec<_> = Channels::<Test>::iter().map(|(id, c)| (id, c.encode())).collect();
		assert_eq!(channels.len(), 1);

		// A chain at version 1: the migration runs and writes version 2.
		StorageVersion::new(1).put::<Pallet<Test>>();
		let weight = MigrateV1ToV2::<Test>::on_runtime_upgrade();
		assert_eq!(Pallet::<Test>::on_chain_storage_version(), 2);
		assert_eq!(weight, db().reads_writes(1, 1), "one version read, one version write");
		assert_eq!(
			Channels::<Test>::iter().map(|(id, c)| (id, c.encode())).collect::<Vec<_>>(),
			channels
		);
		assert!(Verifiers::<Test>::get(account(BOB)).is_some());

		// Already at version 2: nothing runs, one read.
		let weight = MigrateV1ToV2::<Test>::on_runtime_upgrade();
		assert_eq!(weight, db().reads(1));
		assert_eq!(Pallet::<Test>::on_chain_storage_version(), 2);
	});
}

#[test]
fn a_chain_at_another_version_is_left_alone() {
	new_test_ext().execute_with(|| {
		StorageVersion::new(0).put::<Pallet<Test>>();
		MigrateV1ToV2::<Test>::on_runtime_upgrade();
		assert_eq!(Pallet::<Test>::on_chain_storage_version(), 0, "not 1: not this migration's");
	});
}
