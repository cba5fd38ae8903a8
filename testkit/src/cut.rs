//! Cutting a future short, as an HTTP server does with a handler whose client hung up: the
//! future is dropped at whatever `.await` it had reached. Tests sweep the cut over every poll
//! count to reach each of those points in turn.

use std::{
	future::Future,
	pin::Pin,
	task::{Context, Poll},
};

/// Polls the inner future at most `left` times, then drops it unfinished: `None`.
pub struct PollLimit<F> {
	inner: Pin<Box<F>>,
	left: usize,
}

impl<F: Future> PollLimit<F> {
	/// `inner`, dropped unfinished at its `polls`-th poll if it has not completed by then.
	pub fn new(inner: F, polls: usize) -> Self {
		PollLimit { inner: Box::pin(inner), left: polls }
	}
}

impl<F: Future> Future for PollLimit<F> {
	type Output = Option<F::Output>;
	fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
		if self.left == 0 {
			return Poll::Ready(None);
		}
		self.left -= 1;
		self.inner.as_mut().poll(cx).map(Some)
	}
}

/// Polls the inner future until `within` has passed, then drops it unfinished: `None`. It polls
/// again at once after each `Pending` (a busy loop), so cuts land with microsecond precision,
/// where a timer would round them up to its millisecond tick.
pub struct TimeLimit<F> {
	inner: Pin<Box<F>>,
	deadline: Option<std::time::Instant>,
	within: std::time::Duration,
}

impl<F: Future> TimeLimit<F> {
	/// `inner`, dropped unfinished once `within` has passed from its first poll.
	pub fn new(inner: F, within: std::time::Duration) -> Self {
		TimeLimit { inner: Box::pin(inner), deadline: None, within }
	}
}

impl<F: Future> Future for TimeLimit<F> {
	type Output = Option<F::Output>;
	fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
		let now = std::time::Instant::now();
		let within = self.within;
		let deadline = *self.deadline.get_or_insert(now + within);
		if now >= deadline {
			return Poll::Ready(None);
		}
		match self.inner.as_mut().poll(cx) {
			Poll::Ready(v) => Poll::Ready(Some(v)),
			Poll::Pending => {
				cx.waker().wake_by_ref();
				Poll::Pending
			},
		}
	}
}

/// Where a future is cut short: after this many polls, or this long after its first poll.
#[derive(Debug, Clone, Copy)]
pub enum Cut {
	/// [`PollLimit`].
	Polls(usize),
	/// [`TimeLimit`].
	After(std::time::Duration),
}

impl Cut {
	/// `fut`, dropped unfinished (`None`) at this cut if it has not completed by then.
	pub async fn apply<F: Future>(self, fut: F) -> Option<F::Output> {
		match self {
			Cut::Polls(n) => PollLimit::new(fut, n).await,
			Cut::After(t) => TimeLimit::new(fut, t).await,
		}
	}
}
