#[ratchet::app(path = "/chat", static_dir = public)]
#[derive(Default)]
pub struct Chat;
