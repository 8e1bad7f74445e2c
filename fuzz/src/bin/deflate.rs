//! AFL target: `cargo afl build --release && cargo afl fuzz -i corpus/deflate -o out/deflate target/release/deflate`.

fn main() {
    afl::fuzz!(|data: &[u8]| suite::fuzz::deflate(data));
}
