//! The native client against daemons faked in the test: a unix socket server that
//! answers from a script (`fake`), and a TLS server with the certificates of
//! `../testdata` (`tls_server`). One file per part of the client.

mod answer;
mod client;
mod exchange;
mod fake;
mod operation;
mod target;
mod tls;
mod tls_server;
