//! AFL target: `cargo afl build --release && cargo afl fuzz -i corpus/hixie -o out/hixie target/release/hixie`.

fn main() {
    afl::fuzz!(|data: &[u8]| suite::fuzz::hixie(data));
}
