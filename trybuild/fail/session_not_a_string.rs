#[ratchet::app(redis = "redis://127.0.0.1:6379/", session = php)]
#[derive(Default)]
pub struct Chat;
