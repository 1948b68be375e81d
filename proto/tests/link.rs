//! Share links.

#![allow(clippy::unwrap_used)]

mod common;

use warren_proto::content::{ContentId, Token};
use warren_proto::link::{Link, Target};
use warren_proto::record::IpAddress;
use warren_proto::seal::SealKey;
use warren_proto::{Error, PeerAddr, TransportHint};

#[test]
fn every_form_round_trips() {
    let id = common::keypair(1).id();
    let onion = PeerAddr::new(id, TransportHint::Onion { port: 7447 });
    let tcp = PeerAddr::new(
        id,
        TransportHint::Tcp {
            ip: IpAddress::V4([127, 0, 0, 1]),
            port: 4000,
        },
    );
    let token = Token([3; 16]);
    for link in [
        Link {
            at: onion,
            target: Target::Private { token, key: None },
        },
        Link {
            at: tcp,
            target: Target::Private {
                token,
                key: Some(SealKey([9; 32])),
            },
        },
        Link {
            at: onion,
            target: Target::Public(ContentId([4; 32])),
        },
    ] {
        let text = link.to_string();
        assert!(text.starts_with("warren:"), "{text}");
        assert_eq!(text.parse::<Link>().unwrap(), link, "{text}");
    }
    let l = Link {
        at: onion,
        target: Target::Private { token, key: None },
    };
    assert_eq!(l.swarm(), token.swarm());
    let url = l.onion_url().unwrap();
    assert_eq!(url, format!("http://{id}/s/{}", token.to_base32()));
    // The browser URL is also a link `warren get` takes.
    assert_eq!(url.parse::<Link>().unwrap(), l);
}

#[test]
fn bad_links_say_what_is_wrong() {
    let id = common::keypair(1).id();
    let t = Token([3; 16]).to_base32();
    let cases: Vec<(String, &str)> = vec![
        (format!("warren:{id}/x/{t}"), "no /s/ or /c/ part"),
        (format!("warren:{id}/s/aaaaaaaa"), "token is not 128 bits"),
        (format!("warren:{id}/s/zz"), "token is not base32"),
        (format!("warren:{id}/s/{t}#00"), "key is not base32"),
        (
            format!("warren:{id}/c/{}#k", ContentId([1; 32])),
            "public content links carry no key",
        ),
        (
            format!("http://example.com/s/{t}"),
            "http links must name an .onion host",
        ),
        ("ftp://x".into(), "expected warren:… or http://….onion/…"),
        ("x".repeat(600), "longer than 512 characters"),
    ];
    for (text, why) in cases {
        assert_eq!(text.parse::<Link>(), Err(Error::Link(why)), "{text}");
    }
}
