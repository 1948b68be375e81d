//! The listener's state machine fed arbitrary Hello and Auth bytes.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use warren_proto::handshake::{Listener, ListenerStep};
use warren_proto::{
    Difficulty, Keypair, NodeRecord, RecordPolicy, Role, Services, SignedNodeRecord,
};

const NOW: u64 = 1_795_219_200;

/// The fixed parts (the key, the signed record), made once: signing them
/// for every input made this target 60 times slower than the others.
static FIXED: LazyLock<(Keypair, SignedNodeRecord, RecordPolicy)> = LazyLock::new(|| {
    let kp = Keypair::from_seed(&[7; 32]);
    let own = NodeRecord {
        id: kp.id(),
        role: Role::Box,
        services: Services::PEER_EXCHANGE,
        hints: heapless::Vec::new(),
        issued_at: NOW,
        expires_at: NOW + 60,
        pow_nonce: 0,
    }
    .sign(&kp)
    .unwrap();
    let policy = RecordPolicy {
        difficulty: Difficulty::new(0).unwrap(),
        max_validity: 3600,
        max_clock_skew: 60,
    };
    (kp, own, policy)
});

fuzz_target!(|data: &[u8]| {
    // First byte: where the Hello ends and the Auth begins.
    let Some((&k, rest)) = data.split_first() else {
        return;
    };
    let (hello, auth) = rest.split_at((k as usize).min(rest.len()));
    let (kp, own, policy) = &*FIXED;
    if let Ok(ListenerStep::Continue(l, _)) = Listener::on_hello(hello, kp, own, [1; 32]) {
        let _ = l.on_auth(auth, NOW, policy);
    }
});
