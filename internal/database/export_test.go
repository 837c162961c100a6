package database

// StmtCacheSize is how many statements a connection of a GraphQL pool
// keeps prepared.
const StmtCacheSize = stmtCacheSize
