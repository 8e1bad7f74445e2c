//! RFC 6455 decoders lent to connections while they read. After a read that leaves
//! nothing in progress a connection gives its decoder back, so an idle connection holds
//! none. The spares keep their decompressors (reset, not reallocated): for connections
//! whose client resets its context per message, the pool is a shared inflater.

use super::deflate::Params;
use super::rfc6455::Decoder;

/// Spares kept. Connections borrow one at a time within a read, so a few cover a loop
/// turn; each may hold a decompressor (about 40 KiB with a 32 KiB window).
const SPARES: usize = 4;

/// The spare decoders.
#[derive(Debug, Default)]
pub(super) struct Decoders {
    /// Boxed as the connections hold them: lending moves a pointer, not the decoder.
    #[allow(clippy::vec_box)]
    spare: Vec<Box<Decoder>>,
}

/// What a connection's decoder is made with.
#[derive(Debug, Clone, Copy)]
pub(super) struct Settings {
    pub max_message: usize,
    pub max_frame: usize,
    /// permessage-deflate as the decoder sees it (a client's, mirrored).
    pub deflate: Option<Params>,
    /// It reads a server's frames.
    pub client: bool,
}

impl Decoders {
    /// A decoder made with `settings`: a spare if there is one.
    pub fn lend(&mut self, settings: Settings) -> Box<Decoder> {
        let Settings {
            max_message,
            max_frame,
            deflate,
            client,
        } = settings;
        let mut decoder = self
            .spare
            .pop()
            .unwrap_or_else(|| Box::new(Decoder::new(max_message)));
        decoder.reuse(max_message, max_frame, deflate, client);
        decoder
    }

    /// Takes `slot`'s decoder back if it is idle (kept as a spare, or freed).
    pub fn take_back(&mut self, slot: &mut Option<Box<Decoder>>) {
        if slot.as_ref().is_some_and(|d| d.is_idle()) {
            if let Some(decoder) = slot.take() {
                if self.spare.len() < SPARES {
                    self.spare.push(decoder);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::websocket::rfc6455::tests::client_frame;
    use crate::websocket::rfc6455::{Frame, OP_TEXT};

    fn settings() -> Settings {
        Settings {
            max_message: 1 << 20,
            max_frame: 1 << 20,
            deflate: None,
            client: false,
        }
    }

    #[test]
    fn a_busy_decoder_stays_and_an_idle_one_goes_back_as_a_bounded_spare() {
        let mut pool = Decoders::default();
        let mut slot = Some(pool.lend(settings()));
        let mut frame = client_frame(true, OP_TEXT, b"hello");
        let mut pos = 0;
        let decoder = slot.as_mut().unwrap();
        // A header cut short is left unconsumed (the server keeps it); past it, the frame
        // is in progress.
        assert_eq!(
            decoder.decode(&mut frame[..4], &mut pos, usize::MAX),
            Ok(None)
        );
        assert_eq!(pos, 0);
        assert!(decoder.is_idle());
        assert_eq!(
            decoder.decode(&mut frame[..8], &mut pos, usize::MAX),
            Ok(None)
        );
        assert_eq!(pos, 8);
        pool.take_back(&mut slot);
        assert!(slot.is_some(), "a frame in progress keeps its decoder");
        let mut rest = frame[pos..].to_vec();
        let decoder = slot.as_mut().unwrap();
        assert!(matches!(
            decoder.decode(&mut rest, &mut 0, usize::MAX),
            Ok(Some(Frame::Message(_)))
        ));
        decoder.release_all();
        pool.take_back(&mut slot);
        assert!(slot.is_none(), "an idle connection holds no decoder");
        assert_eq!(pool.spare.len(), 1);
        // Lent again, then many given back at once: at most SPARES are kept.
        let mut slots: Vec<_> = (0..SPARES + 3)
            .map(|_| Some(pool.lend(settings())))
            .collect();
        assert!(pool.spare.is_empty());
        for slot in &mut slots {
            pool.take_back(slot);
        }
        assert_eq!(pool.spare.len(), SPARES);
    }
}
