//! AFL target: `cargo afl build --release && cargo afl fuzz -i corpus/rfc6455 -o out/rfc6455 target/release/rfc6455`.

fn main() {
    afl::fuzz!(|data: &[u8]| suite::fuzz::rfc6455(data));
}
