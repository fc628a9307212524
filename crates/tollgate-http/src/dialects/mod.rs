//! The dialect units. Each implements [`crate::dialect::Dialect`] and imports no other;
//! [`twilio`] is not a dialect but the shapes Twilio's APIs share.

pub mod standard;
pub mod twilio;
pub mod twilio_v1;
pub mod twilio_v2;

pub use standard::Standard;
pub use twilio_v1::TwilioV1;
pub use twilio_v2::TwilioV2;
