#[ratchet::app(path = 8080)]
#[derive(Default)]
pub struct Chat;
