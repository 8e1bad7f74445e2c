#[ratchet::app(blacklist = "192.0.2.7")]
#[derive(Default)]
pub struct Chat;
