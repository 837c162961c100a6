package ingest

import (
	"errors"
	"sync"
)

// errStaleUser means a remembered user id no longer exists (the user was
// merged into another, possibly by another process). The batch is retried
// with the project's cache dropped.
var errStaleUser = errors.New("a remembered user no longer exists")

// maxCachedUsers bounds the memory of a userCache (about 100 bytes each).
const maxCachedUsers = 1 << 20

// userCache remembers the user id of each external id per project, so a
// batch of known users resolves without a query. Ids only ever go stale by
// a merge; the writer detects that (an update that misses rows) and retries
// without the cache, so a stale entry costs a retry, never a wrong row.
type userCache struct {
	mu        sync.Mutex
	byProject map[int]map[string]int
	size      int
}

func newUserCache() *userCache { return &userCache{byProject: map[int]map[string]int{}} }

// lookup copies the cached ids of externalIDs into into.
func (c *userCache) lookup(projectID int, externalIDs []string, into map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cached := c.byProject[projectID]
	for _, ext := range externalIDs {
		if id, ok := cached[ext]; ok {
			into[ext] = id
		}
	}
}

// remember stores resolved ids; when full, it starts over rather than
// tracking recency, which is cheaper and good enough for hot users.
func (c *userCache) remember(projectID int, ids map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.size+len(ids) > maxCachedUsers {
		c.byProject, c.size = map[int]map[string]int{}, 0
	}
	cached := c.byProject[projectID]
	if cached == nil {
		cached = map[string]int{}
		c.byProject[projectID] = cached
	}
	for ext, id := range ids {
		if _, ok := cached[ext]; !ok {
			c.size++
		}
		cached[ext] = id
	}
}

// forget drops a project's remembered ids.
func (c *userCache) forget(projectID int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.size -= len(c.byProject[projectID])
	delete(c.byProject, projectID)
}
