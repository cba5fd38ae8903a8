//! Prometheus metrics at `/metrics`.

use prometheus::{
	Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
	TextEncoder,
};

/// The server's metrics.
pub struct Metrics {
	registry: Registry,
	/// Records submitted, by kind (`first`, `second`) and result (`stored`, `already_stored`,
	/// `conflict`, `rejected`).
	pub records: IntCounterVec,
	/// Blob bytes stored.
	pub blob_bytes: IntCounter,
	/// Anchors accepted, by source (`relay`, `poll`).
	pub anchors: IntCounterVec,
	/// Checks of an anchored log against the stored records, by result (`match`,
	/// `incomplete`: records missing here, `mismatch`: the records do not give the root).
	pub anchor_checks: IntCounterVec,
	/// Channel lookups sent to the chain (unknown channels are remembered for a while).
	pub chain_lookups: IntCounter,
	/// Uploads refused or dropped, by reason (`busy`, `party_busy`, `too_slow`).
	pub uploads_refused: IntCounterVec,
	/// Request latency by method, route and status.
	pub latency: HistogramVec,
	/// Stored totals, refreshed at each scrape.
	pub stored: [IntGauge; 5],
}

impl Metrics {
	/// Register every metric.
	pub fn new() -> Self {
		let registry = Registry::new_custom(Some("attest_server".into()), None)
			.expect("a constant, valid prefix");
		let records = IntCounterVec::new(
			Opts::new("records_submitted_total", "Records submitted, by kind and result"),
			&["kind", "result"],
		)
		.expect("valid metric");
		let blob_bytes = IntCounter::new("blob_bytes_ingested_total", "Bytes of blobs stored")
			.expect("valid metric");
		let anchors = IntCounterVec::new(
			Opts::new("anchors_accepted_total", "Chain-checked anchors accepted, by source"),
			&["source"],
		)
		.expect("valid metric");
		let anchor_checks = IntCounterVec::new(
			Opts::new("anchor_checks_total", "Anchored logs checked against stored records"),
			&["result"],
		)
		.expect("valid metric");
		let chain_lookups =
			IntCounter::new("chain_channel_lookups_total", "Channel lookups sent to the chain")
				.expect("valid metric");
		let uploads_refused = IntCounterVec::new(
			Opts::new("uploads_refused_total", "Uploads refused or dropped, by reason"),
			&["reason"],
		)
		.expect("valid metric");
		let latency = HistogramVec::new(
			HistogramOpts::new("http_request_duration_seconds", "HTTP request latency").buckets(
				vec![
					0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
					10.0,
				],
			),
			&["method", "route", "status"],
		)
		.expect("valid metric");
		let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("valid metric");
		let stored = [
			gauge("first_records", "First records stored"),
			gauge("second_records", "Second records stored"),
			gauge("anchors", "Anchors stored"),
			gauge("blobs", "Blobs stored"),
			gauge("blob_bytes", "Bytes of all stored blobs"),
		];
		for c in [
			Box::new(records.clone()) as Box<dyn prometheus::core::Collector>,
			Box::new(blob_bytes.clone()),
			Box::new(anchors.clone()),
			Box::new(latency.clone()),
			Box::new(anchor_checks.clone()),
			Box::new(chain_lookups.clone()),
			Box::new(uploads_refused.clone()),
		] {
			registry.register(c).expect("distinct metric names");
		}
		for g in &stored {
			registry.register(Box::new(g.clone())).expect("distinct metric names");
		}
		Metrics {
			registry,
			records,
			blob_bytes,
			anchors,
			anchor_checks,
			chain_lookups,
			uploads_refused,
			latency,
			stored,
		}
	}

	/// The text exposition format.
	pub fn render(&self) -> String {
		let mut buf = Vec::new();
		let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
		String::from_utf8(buf).unwrap_or_default()
	}
}

impl Default for Metrics {
	fn default() -> Self {
		Self::new()
	}
}
