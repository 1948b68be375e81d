//! The liveness check: the node's core tasks must each answer within a
//! deadline. The node task answers a status request (which also feeds the
//! LED); the files service and its tracker each answer a ping. Each queues
//! behind whatever the task is doing, so a task stuck on one message fails
//! the check.

use std::time::Duration;

use crate::daemon::{NodeHandle, Status};

/// What one check found.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// The node's status, when the node task answered in time.
    pub(crate) status: Option<Status>,
    /// Core tasks that did not answer in time (or answered with an error).
    pub(crate) unresponsive: Vec<String>,
}

/// Asks every core task at once and waits at most `deadline`.
pub(crate) async fn run(node: &NodeHandle, deadline: Duration) -> Outcome {
    let files = node.files();
    let (status, ping, tracker) = tokio::join!(
        tokio::time::timeout(deadline, node.status()),
        tokio::time::timeout(deadline, files.ping()),
        tokio::time::timeout(deadline, files.tracker().ping()),
    );
    let mut unresponsive = Vec::new();
    let status = match status {
        Ok(Ok(s)) => Some(s),
        _ => {
            unresponsive.push("node".to_string());
            None
        }
    };
    if !matches!(ping, Ok(Ok(()))) {
        unresponsive.push("files".to_string());
    }
    if !matches!(tracker, Ok(Ok(()))) {
        unresponsive.push("tracker".to_string());
    }
    Outcome {
        status,
        unresponsive,
    }
}
