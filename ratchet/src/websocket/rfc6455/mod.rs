//! RFC 6455 framing (also HyBi-07/-10, which frame the same way): a streaming decoder and
//! the encoder, for either end (a server reads masked frames and writes unmasked ones; a
//! client the other way round).

mod decode;
mod encode;
mod peek;
#[cfg(test)]
pub(crate) mod tests;

pub use decode::{Decoder, Frame, Session};
pub use encode::{
    write_close, write_compressed_message, write_header, write_message, write_ping, write_pong,
    Mask,
};

pub(crate) const OP_CONTINUATION: u8 = 0x0;
pub(crate) const OP_TEXT: u8 = 0x1;
pub(crate) const OP_BINARY: u8 = 0x2;
pub(crate) const OP_CLOSE: u8 = 0x8;
pub(crate) const OP_PING: u8 = 0x9;
pub(crate) const OP_PONG: u8 = 0xA;
