//! Warren's messages: end-to-end encryption between node identities
//! ([`e2e`]: the Olm double ratchet of `vodozemac`, bound to the node keys
//! by signed prekeys, plaintexts padded to size classes) and envelopes
//! sealed to their recipient ([`seal`]).

#![forbid(unsafe_code)]

pub mod e2e;
pub mod seal;
