package graph

import (
	"encoding/json"
)

// socketProtocol is one of the two GraphQL WebSocket subprotocols: their
// messages differ in names and in what a few of them mean.
type socketProtocol struct {
	name string
	// legacy is graphql-ws (subscriptions-transport-ws): "start", "stop",
	// "data", keepalive "ka" messages, "connection_error" before closing.
	legacy bool
	// subscribe, stop and data name the messages that start an operation,
	// stop it (client to server) and carry a result.
	subscribe, stop, data string
}

var (
	// graphqlTransportWS is https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md.
	graphqlTransportWS = &socketProtocol{name: "graphql-transport-ws", subscribe: "subscribe", stop: "complete", data: "next"}
	// graphqlWS is https://github.com/apollographql/subscriptions-transport-ws/blob/master/PROTOCOL.md.
	graphqlWS = &socketProtocol{name: "graphql-ws", legacy: true, subscribe: "start", stop: "stop", data: "data"}
)

// socketProtocols are offered in the handshake; a client that names none
// gets graphql-ws, as gqlgen's transport did.
var socketProtocols = []string{graphqlTransportWS.name, graphqlWS.name}

func protocolNamed(name string) *socketProtocol {
	if name == graphqlTransportWS.name {
		return graphqlTransportWS
	}
	if name == graphqlWS.name || name == "" {
		return graphqlWS
	}
	return nil
}

// Close codes of graphql-transport-ws (and, for a refused key, of both).
const (
	closeBadRequest      = 4400
	closeUnauthorized    = 4401
	closeForbidden       = 4403
	closeInitTimeout     = 4408
	closeDuplicateID     = 4409
	closeTooManyInits    = 4429
	closeProtocolError   = 1002
	closeNormal          = 1000
	closeGoingAway       = 1001
	closePolicyViolation = 1008
)

// clientMessage is a message from the client, in either protocol.
type clientMessage struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

// Server messages. Those without an operation are the same bytes for every
// connection.
var (
	messageAck       = []byte(`{"type":"connection_ack"}`)
	messageKeepAlive = []byte(`{"type":"ka"}`)
	messagePong      = []byte(`{"type":"pong"}`)
)

// operationHead is the start of every message of the operation id, up to
// its payload: `{"id":"…","type":"`.
func operationHead(id string) []byte {
	quoted, _ := json.Marshal(id) // a string always encodes
	head := make([]byte, 0, len(quoted)+16)
	head = append(head, `{"id":`...)
	head = append(head, quoted...)
	return append(head, `,"type":"`...)
}

// appendMessage appends one message of an operation: its type and, when
// payload is not nil, the payload (already JSON).
func appendMessage(dst, head []byte, typ string, payload []byte) []byte {
	dst = append(dst, head...)
	dst = append(dst, typ...)
	if payload == nil {
		return append(dst, `"}`...)
	}
	dst = append(dst, `","payload":`...)
	dst = append(dst, payload...)
	return append(dst, '}')
}

// connectionError is graphql-ws's message before it closes a connection.
func connectionError(message string) []byte {
	payload, _ := json.Marshal(map[string]string{"message": message})
	return []byte(`{"type":"connection_error","payload":` + string(payload) + `}`)
}

// pong answers a ping, echoing its payload as graphql-transport-ws asks.
func pong(payload json.RawMessage) []byte {
	if len(payload) == 0 || string(payload) == "null" {
		return messagePong
	}
	return []byte(`{"type":"pong","payload":` + string(payload) + `}`)
}
