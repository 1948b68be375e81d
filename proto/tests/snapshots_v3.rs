//! Exact encodings of the messages protocol version 3 added, pinned byte
//! for byte in `vectors/v3.txt` (same rules as `snapshots.rs`).

#![allow(clippy::unwrap_used)]

mod common;

use warren_proto::files::{FileMsg, RejectReason, Unavailable};

const VECTORS: &str = include_str!("vectors/v3.txt");

fn check<T>(name: &str, value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    common::check_vector(VECTORS, name, value);
}

#[test]
fn typed_refusals() {
    check(
        "files_unavailable_changed",
        &FileMsg::Unavailable {
            why: Unavailable::Changed,
        },
    );
    check(
        "files_unavailable_missing",
        &FileMsg::Unavailable {
            why: Unavailable::Missing,
        },
    );
    check(
        "files_unavailable_checking",
        &FileMsg::Unavailable {
            why: Unavailable::Checking,
        },
    );
    check(
        "files_reject_unavailable_changed",
        &FileMsg::Reject {
            piece: 3,
            offset: 0,
            reason: RejectReason::Unavailable(Unavailable::Changed),
        },
    );
    check(
        "files_reject_unavailable_missing",
        &FileMsg::Reject {
            piece: 5,
            offset: 0,
            reason: RejectReason::Unavailable(Unavailable::Missing),
        },
    );
}

#[test]
fn every_vector_is_checked() {
    common::every_vector_named(VECTORS, include_str!("snapshots_v3.rs"));
}
