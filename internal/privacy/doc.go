// Package privacy honours what a product owes the people it collects data
// about: erasing a user from every table in one transaction (Eraser),
// keeping erased ids out at ingest until told otherwise (suppression), and
// handing a user everything Pulse stores about them (Export).
//
// Erasures and suppressions never store the ids they are about: a
// per-project random salt and SHA-256 make them checkable (the same id
// hashes the same way) without being readable.
package privacy
