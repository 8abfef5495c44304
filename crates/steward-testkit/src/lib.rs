//! Real servers for Steward's tests. Each starts on a free loopback port and stops when its
//! guard drops; a server that cannot start fails the test with the reason.

pub mod smtp;
pub mod webhooks;
