//! A worker's job queue: jobs in the order sent, closed for the worker once every sender is
//! gone, closed for senders once the worker is gone (its queued jobs are dropped, so whoever
//! waits for a reply hears it stopped).
//!
//! The same contract as an unbounded tokio channel, in about 150 bytes instead of 800: a
//! fleet has one queue per connection, and 10,000 of them cost 1.5 MB rather than 8 MB.

use super::job::Job;
use super::lock;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// What a sender and the worker share.
struct Queue {
    state: Mutex<State>,
    /// Woken on every job sent and when the last sender goes.
    ready: Notify,
}

struct State {
    jobs: VecDeque<Box<Job>>,
    senders: usize,
    worker: bool,
}

/// Sends jobs to one worker; cloned for every place that fires on the connection.
pub(super) struct Sender(Arc<Queue>);

/// The worker's end.
pub(super) struct Receiver(Arc<Queue>);

/// A new queue.
pub(super) fn channel() -> (Sender, Receiver) {
    let queue = Arc::new(Queue {
        state: Mutex::new(State {
            jobs: VecDeque::new(),
            senders: 1,
            worker: true,
        }),
        ready: Notify::new(),
    });
    (Sender(queue.clone()), Receiver(queue))
}

impl Sender {
    /// Queues `job`; gives it back when the worker is gone.
    pub(super) fn send(&self, job: Box<Job>) -> Result<(), Box<Job>> {
        let mut state = lock(&self.0.state);
        if !state.worker {
            return Err(job);
        }
        state.jobs.push_back(job);
        drop(state);
        self.0.ready.notify_one();
        Ok(())
    }
}

impl Clone for Sender {
    fn clone(&self) -> Self {
        lock(&self.0.state).senders += 1;
        Sender(self.0.clone())
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let mut state = lock(&self.0.state);
        state.senders -= 1;
        let last = state.senders == 0;
        drop(state);
        if last {
            self.0.ready.notify_one();
        }
    }
}

impl Receiver {
    /// The next job; `None` once every sender is gone and the queue is empty. Cancel-safe:
    /// a job is taken only when it is returned.
    pub(super) async fn recv(&mut self) -> Option<Box<Job>> {
        loop {
            {
                let mut state = lock(&self.0.state);
                if let Some(job) = state.jobs.pop_front() {
                    return Some(job);
                }
                if state.senders == 0 {
                    return None;
                }
            }
            // A job sent since the look above left a permit: this returns at once then.
            self.0.ready.notified().await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let jobs = {
            let mut state = lock(&self.0.state);
            state.worker = false;
            std::mem::take(&mut state.jobs)
        };
        // Dropped outside the lock: a job's reply channel wakes whoever waits on it.
        drop(jobs);
    }
}

#[cfg(test)]
mod tests {
    use super::super::job::{JobKind, MeterId};
    use super::*;
    use crate::queue::Config;

    fn job(n: usize) -> Box<Job> {
        let (reply, _) = tokio::sync::oneshot::channel();
        Box::new(Job {
            config: Arc::new(Config::default()),
            kind: JobKind::TestMeter {
                meter: MeterId(n),
                reply,
            },
        })
    }

    fn meter(j: &Job) -> usize {
        match &j.kind {
            JobKind::TestMeter { meter, .. } => meter.0,
            _ => usize::MAX,
        }
    }

    #[tokio::test]
    async fn jobs_come_in_order_and_end_when_every_sender_is_gone() {
        let (tx, mut rx) = channel();
        let tx2 = tx.clone();
        tx.send(job(1)).ok().unwrap();
        tx2.send(job(2)).ok().unwrap();
        drop(tx);
        assert_eq!(rx.recv().await.map(|j| meter(&j)), Some(1));
        assert_eq!(rx.recv().await.map(|j| meter(&j)), Some(2));
        // One sender is left: nothing yet, and no end either.
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), rx.recv()).await;
        assert!(waiting.is_err());
        tx2.send(job(3)).ok().unwrap();
        drop(tx2);
        assert_eq!(rx.recv().await.map(|j| meter(&j)), Some(3));
        assert!(rx.recv().await.is_none());
    }

    #[tokio::test]
    async fn a_waiting_worker_wakes_for_a_job_and_for_the_end() {
        let (tx, mut rx) = channel();
        let worker = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(j) = rx.recv().await {
                got.push(meter(&j));
            }
            got
        });
        tokio::task::yield_now().await;
        tx.send(job(7)).ok().unwrap();
        tokio::task::yield_now().await;
        tx.send(job(8)).ok().unwrap();
        drop(tx);
        assert_eq!(worker.await.unwrap(), vec![7, 8]);
    }

    #[tokio::test]
    async fn without_the_worker_a_send_fails_and_queued_replies_hear_it() {
        let (tx, rx) = channel();
        let (reply, answer) = tokio::sync::oneshot::channel();
        tx.send(Box::new(Job {
            config: Arc::new(Config::default()),
            kind: JobKind::TestMeter {
                meter: MeterId(0),
                reply,
            },
        }))
        .ok()
        .unwrap();
        drop(rx);
        assert!(answer.await.is_err());
        assert!(tx.send(job(1)).is_err());
    }
}
