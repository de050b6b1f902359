// Package dsn makes PostgreSQL connection strings fit for logs and errors.
//
// [Redact] accepts every form pgx's pgconn.ParseConfig accepts and hides
// every value pgx would use as a secret:
//
//   - URL form (postgres:// or postgresql://): the userinfo password, and the
//     value of every query parameter that pgx reads as a secret (password,
//     sslpassword, in any percent-encoding of the key);
//   - libpq keyword/value form (host=… password=… dbname=…): the values of
//     password and sslpassword, quoted ('a b\'c') or not, with or without
//     spaces around "=".
//
// It is strict rather than clever: a string it cannot tokenise the way pgx
// does, or whose keywords are not plain identifiers (where a mistyped
// separator could have moved a password into a key), comes back as a fixed
// placeholder with nothing of the input in it. The rule comes from the README
// ("passwords never reach the logs"); pgconn's own redaction of its parse
// errors is documented as best effort, which is why breakwater never logs
// those errors either (package database replaces them).
package dsn
