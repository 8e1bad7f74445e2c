//! permessage-deflate (RFC 7692): the settings and what a connection negotiated
//! ([`negotiate`]), and compression of whole messages with `flate2` (zlib-rs backend: no
//! system library).

mod codec;
mod negotiate;

pub use crate::compression::{Deflate, Params};
pub use codec::{compress, compressor, decompressor, inflate, inflate_end};
pub use negotiate::{accept_answer, negotiate, offer};
