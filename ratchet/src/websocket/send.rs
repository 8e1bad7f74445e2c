//! What goes out: messages framed for each connection's version, compressed where
//! permessage-deflate was negotiated, once per encoding for a message to many.

use super::{deflate, hixie, rfc6455, ConnState, Deflate, WebSocket};
use crate::message::{Kind, Payload};
use flate2::Compress;

/// Encodings for [`Protocol::encoding`](crate::Protocol::encoding).
const ENCODING_HYBI: u8 = 0;
const ENCODING_HIXIE: u8 = 1;
/// Plus the window bits, for permessage-deflate without server context takeover.
const ENCODING_DEFLATE_BASE: u8 = 16;

/// A connection's compression side of permessage-deflate.
pub(super) struct ConnDeflate {
    params: deflate::Params,
    /// With context takeover: this connection's own compressor, made at first use.
    compress: Option<Box<Compress>>,
}

impl ConnDeflate {
    pub fn new(params: deflate::Params) -> Self {
        ConnDeflate {
            params,
            compress: None,
        }
    }

    /// The negotiated parameters.
    pub fn params(&self) -> deflate::Params {
        self.params
    }
}

impl std::fmt::Debug for ConnDeflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnDeflate")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl<C> WebSocket<C> {
    /// Connections with the same encoding receive the same bytes for a message.
    pub(super) fn encoding_of<S>(&self, state: &ConnState<S>) -> Option<u8> {
        if state.close_sent || !state.opened || state.outbound.is_some() {
            return None; // an outbound connection masks each frame with its own key
        }
        match (state.version?, &state.deflate) {
            (v, None) if v.is_hybi() => Some(ENCODING_HYBI),
            (_, None) => Some(ENCODING_HIXIE),
            // Without context takeover, a message compresses the same for every
            // connection with the same window: compress it once for all of them.
            (_, Some(d)) if d.params.server_no_context_takeover => {
                Some(ENCODING_DEFLATE_BASE + d.params.server_max_window_bits)
            }
            (_, Some(_)) => None,
        }
    }

    /// Appends `msg` framed for this connection (nothing if it cannot take messages).
    pub(super) fn frame<S>(&mut self, state: &mut ConnState<S>, msg: &Payload, buf: &mut Vec<u8>) {
        if state.close_sent || !state.opened {
            return;
        }
        let threshold = self.config.deflate.as_ref().map_or(0, Deflate::min_size);
        match (state.version, &mut state.deflate) {
            (Some(_), Some(d)) if msg.len() >= threshold => {
                let level = self
                    .config
                    .deflate
                    .as_ref()
                    .map_or(6, Deflate::compression_level);
                let window = d.params.server_max_window_bits;
                let reset = d.params.server_no_context_takeover;
                let compress = if reset {
                    let at = match self
                        .shared_compressors
                        .iter()
                        .position(|(w, _)| *w == window)
                    {
                        Some(at) => at,
                        None => {
                            self.shared_compressors
                                .push((window, deflate::compressor(level, window)));
                            self.shared_compressors.len() - 1
                        }
                    };
                    &mut self.shared_compressors[at].1
                } else {
                    d.compress
                        .get_or_insert_with(|| deflate::compressor(level, window))
                };
                self.scratch.clear();
                deflate::compress(compress, msg.as_bytes(), &mut self.scratch, reset);
                self.counts.compressed();
                rfc6455::write_compressed_message(buf, msg.kind(), &self.scratch, state.mask());
                if self.scratch.capacity() > 1 << 20 {
                    self.scratch = Vec::new();
                }
            }
            (Some(v), _) if v.is_hybi() => {
                rfc6455::write_message(buf, msg.kind(), msg.as_bytes(), state.mask());
            }
            (Some(_), _) if msg.kind() == Kind::Text => hixie::write_text(buf, msg.as_bytes()),
            (Some(_), _) => log::debug!(
                "binary message to Hixie connection {} dropped",
                state.conn.id()
            ),
            (None, _) => {}
        }
    }
}
