//! The REST API over real HTTP on a real port, against a real SQLite file.

mod flows;
mod matrix;
mod support;
mod tls;
