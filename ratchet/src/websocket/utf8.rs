//! Incremental UTF-8 validation that fails at the first invalid byte and carries at most
//! three bytes of an unfinished character between chunks.

/// Validates text that arrives in pieces.
#[derive(Debug, Default, Clone)]
pub struct Utf8Validator {
    carry: [u8; 4],
    carry_len: u8,
}

/// The input is not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8;

impl Utf8Validator {
    /// Validates the next piece. An error means no continuation can make the text valid.
    pub fn feed(&mut self, mut input: &[u8]) -> Result<(), InvalidUtf8> {
        if self.carry_len > 0 {
            let have = self.carry_len as usize;
            let width = char_width(self.carry[0]);
            let take = (width - have).min(input.len());
            self.carry[have..have + take].copy_from_slice(&input[..take]);
            let have = have + take;
            input = &input[take..];
            match std::str::from_utf8(&self.carry[..have]) {
                Ok(_) => self.carry_len = 0,
                Err(e) if e.error_len().is_none() && have < width => {
                    self.carry_len = have as u8;
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8),
            }
        }
        match std::str::from_utf8(input) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                let tail = &input[e.valid_up_to()..];
                self.carry[..tail.len()].copy_from_slice(tail);
                self.carry_len = tail.len() as u8;
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Whether the text seen so far ends on a character boundary.
    pub fn is_complete(&self) -> bool {
        self.carry_len == 0
    }

    /// Forgets any carried bytes, for the next message.
    pub fn reset(&mut self) {
        self.carry_len = 0;
    }
}

/// The length of the character a valid leading byte starts (only called on bytes that
/// `from_utf8` left as an incomplete, not invalid, sequence).
fn char_width(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_all_splits(bytes: &[u8]) {
        let whole_ok = std::str::from_utf8(bytes).is_ok();
        for cut1 in 0..=bytes.len() {
            for cut2 in cut1..=bytes.len() {
                let mut v = Utf8Validator::default();
                let ok = v.feed(&bytes[..cut1]).is_ok()
                    && v.feed(&bytes[cut1..cut2]).is_ok()
                    && v.feed(&bytes[cut2..]).is_ok()
                    && v.is_complete();
                assert_eq!(ok, whole_ok, "{bytes:x?} cut at {cut1},{cut2}");
            }
        }
    }

    #[test]
    fn agrees_with_std_on_every_split() {
        check_all_splits("κόσμε".as_bytes());
        check_all_splits("a€𝄞b".as_bytes());
        check_all_splits(&[
            0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80,
            0x65,
        ]);
        check_all_splits(&[0xf4, 0x90, 0x80, 0x80]);
        check_all_splits(&[0xf0, 0x9f, 0x98]);
        check_all_splits(&[0xc0, 0xaf]);
        check_all_splits(&[0xe0, 0x80]);
    }

    #[test]
    fn fails_at_the_first_invalid_byte() {
        let mut v = Utf8Validator::default();
        // 0xED 0xA0 starts a surrogate: invalid already, without the third byte.
        assert!(v.feed(b"hello").is_ok());
        assert_eq!(v.feed(&[0xed]), Ok(()));
        assert_eq!(v.feed(&[0xa0]), Err(InvalidUtf8));
    }
}
