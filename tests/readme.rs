//! The README shows the chat's two files as they are: its first two Rust snippets are the
//! example files after their module docs. (`cargo test` compiles every README snippet too,
//! as doc tests of the `suite` library.)

use std::fs;

fn snippets(readme: &str) -> Vec<String> {
    let mut snippets = Vec::new();
    let mut rest = readme;
    while let Some(at) = rest.find("```rust") {
        let body = &rest[at..];
        let start = body.find('\n').unwrap() + 1;
        let end = body[start..].find("\n```").unwrap();
        snippets.push(body[start..start + end].to_owned());
        rest = &body[start + end..];
    }
    snippets
}

fn code_of(example: &str) -> String {
    let text = fs::read_to_string(suite::root().join(example)).unwrap();
    let code = &text[text.find("use ").expect("a use line")..];
    code.trim_end().to_owned()
}

#[test]
fn the_readme_chats_are_the_example_files() {
    let readme = fs::read_to_string(suite::root().join("README.md")).unwrap();
    let snippets = snippets(&readme);
    assert_eq!(
        snippets[0],
        code_of("examples/chat/main.rs"),
        "README's macro chat"
    );
    assert_eq!(
        snippets[1],
        code_of("examples/chat_trait.rs"),
        "README's chat by hand"
    );
}

#[test]
fn the_readme_first_screen_has_its_two_commands() {
    let readme = fs::read_to_string(suite::root().join("README.md")).unwrap();
    let first: Vec<&str> = readme.lines().take(25).collect();
    let first = first.join("\n");
    assert!(first.contains("cargo run --example chat"), "{first}");
    assert!(first.contains("bash scripts/test"), "{first}");
}
