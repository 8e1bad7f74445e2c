//! AFL target: `cargo afl build --release && cargo afl fuzz -i corpus/handshake -o out/handshake target/release/handshake`.

fn main() {
    afl::fuzz!(|data: &[u8]| suite::fuzz::handshake(data));
}
