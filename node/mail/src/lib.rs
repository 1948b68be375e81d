//! Warren's messages: end-to-end encryption between node identities
//! ([`e2e`]: the Olm double ratchet of `vodozemac`, bound to the node keys
//! by signed prekeys, plaintexts padded to size classes).

#![forbid(unsafe_code)]

pub mod e2e;
