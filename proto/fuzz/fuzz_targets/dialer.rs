//! The dialer's state machine fed an arbitrary answer.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use warren_proto::handshake::Dialer;
use warren_proto::{Difficulty, Keypair, NodeRecord, RecordPolicy, Role, Services};

const NOW: u64 = 1_795_219_200;

/// The fixed parts (keys, the signed record), made once: signing them for
/// every input made this target 60 times slower than the others.
struct Fixed {
    me: Keypair,
    them: Keypair,
    own: warren_proto::SignedNodeRecord,
    policy: RecordPolicy,
}

static FIXED: LazyLock<Fixed> = LazyLock::new(|| {
    let (me, them) = (Keypair::from_seed(&[1; 32]), Keypair::from_seed(&[2; 32]));
    let own = NodeRecord {
        id: me.id(),
        role: Role::Member,
        services: Services::PEER_EXCHANGE,
        hints: heapless::Vec::new(),
        issued_at: NOW,
        expires_at: NOW + 60,
        pow_nonce: 0,
    }
    .sign(&me)
    .unwrap();
    let policy = RecordPolicy {
        difficulty: Difficulty::new(0).unwrap(),
        max_validity: 3600,
        max_clock_skew: 60,
    };
    Fixed {
        me,
        them,
        own,
        policy,
    }
});

fuzz_target!(|data: &[u8]| {
    let f = &*FIXED;
    let (dialer, _) = Dialer::start(f.me.id(), f.them.id(), [3; 32]).unwrap();
    let _ = dialer.on_answer(data, &f.me, &f.own, NOW, &f.policy);
});
