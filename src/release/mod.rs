//! Releases and bundles: manifest and SHA256SUMS parsing, verified download, safe
//! unpacking, versioned install, and assembling release assets. Nothing here prints;
//! progress goes through [`download::Progress`].

pub mod assemble;
pub mod bundle;
pub mod checksums;
pub mod download;
pub mod install;
pub mod manifest;
pub mod resolve;
pub mod unpack;
