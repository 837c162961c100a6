// Package ent is the generated data layer of Pulse. Written by hand: schema/,
// template/ (Pulse's copies of entgql templates and its own), entc.go, this file and
// the files that say so at their top (idtable.go, gql_lateral.go).
package ent

//go:generate go run -mod=mod entc.go
