package engine

// KeyInfoPrefix is the store key prefix of torrents' info dictionaries,
// for tests that wrap the store.
const KeyInfoPrefix = keyInfoPrefix
