// Package ent is the generated data layer of Pulse; only schema/, entc.go and
// this file are written by hand.
package ent

//go:generate go run -mod=mod entc.go
