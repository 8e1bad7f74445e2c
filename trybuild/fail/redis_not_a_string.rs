#[ratchet::app(redis = 6379)]
#[derive(Default)]
pub struct Chat;
