package powserver

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/powtcp/powtcp/protocol"
)

// admission decides which connections get a slot, at what price, and which
// silent handshake is closed to make room. It owns the slots, the state of
// each client address and the server-wide rate of redeemed proofs, under
// one mutex taken once per event of a session (admit, answered, release).
// It knows connections only as something to close, so it is tested without
// sockets.
//
// A handshake is silent from admit until the first byte of its answer
// arrives (answered). Only silent handshakes are ever closed by admission:
// to make room when the table is full (evict), when descriptors run out
// (evictOne) and at shutdown (close). A client that sent its answer keeps
// its slot until its session ends.
type admission struct {
	cfg     Config
	log     *zap.Logger
	metrics *metrics

	mu      sync.Mutex
	closed  bool
	slots   map[*slot]struct{}      // admitted, not released
	silent  []*slot                 // handshakes waiting for their answer, in no order
	seq     uint64                  // admissions so far: a slot's age
	clients map[netip.Addr]*ipState // every address with a slot or a recent rate
	proofs  rate                    // proofs verified and spent: the load every client pays for
	refuse  refusals                // what a refused connection is told, made once

	loadBits   int       // extra bits of the load now
	loggedBits int       // extra bits of the load, as last logged
	loggedAt   time.Time // when they were logged
}

// slot is one admitted connection.
type slot struct {
	conn    net.Conn
	client  netip.Addr
	st      *ipState
	at      int       // index in admission.silent, -1 once answered
	seq     uint64    // when it was admitted, in admissions
	closed  closeKind // why admission closed the connection, if it did
	allowed bool      // its client is in Config.AllowNetworks
	// redeemed is set by the session, before release, once its proof was
	// verified and spent: release then counts it in the load.
	redeemed bool
}

// closeKind is why admission closed a silent handshake.
type closeKind int

const (
	notClosed closeKind = iota
	closedEvicted
	closedShutdown
)

// ipState is what admission remembers of one client address.
type ipState struct {
	conns int  // connections in flight
	rate  rate // recent connection rate
	// The address as the stamps and the spent store name it, made when
	// the address is first admitted and kept while it is remembered.
	key      string // clientKeyString
	resource string // the stamp's resource: key@service
}

// price is what admit asks of a connection.
type price struct {
	bits   int           // leading zero bits of its challenge
	window time.Duration // how long the connection is held waiting for the answer
}

// refusal is why a connection was not admitted.
type refusal struct {
	reason string // metric label
	line   []byte // the ERROR line the client is told
}

// refusals are the refusals admit gives, made once so that a refused
// connection costs no allocation: a flood of them is the cheapest attack.
type refusals struct {
	shutdown, perIP, full refusal
}

func newRefusals(cfg Config) refusals {
	busy := func(reason, msg string) refusal {
		l, err := (&protocol.Error{Code: protocol.CodeBusy, Reason: msg}).Line()
		if err != nil {
			panic("powserver: refusal line: " + err.Error()) // the messages are ours
		}
		return refusal{reason: reason, line: l}
	}
	return refusals{
		shutdown: busy("shutdown", "server is shutting down"),
		perIP:    busy("per_ip", fmt.Sprintf("more than %d connections from your address", cfg.MaxConnsPerIP)),
		full:     busy("cap", "server at capacity"),
	}
}

// evictSample bounds how many silent handshakes evict looks at to find a
// heavy holder.
const evictSample = 8

func newAdmission(cfg Config, log *zap.Logger, m *metrics) *admission {
	return &admission{
		cfg: cfg, log: log, metrics: m, refuse: newRefusals(cfg),
		slots: map[*slot]struct{}{}, clients: map[netip.Addr]*ipState{},
	}
}

// admit gives conn the slot s (the caller's, zero), closing a silent
// handshake when the table is full, and returns its price. allowed says
// its client is in Config.AllowNetworks.
func (a *admission) admit(s *slot, conn net.Conn, client netip.Addr, allowed bool, now time.Time) (price, *refusal) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return price{}, &a.refuse.shutdown
	}
	st := a.clients[client]
	if st == nil {
		st = &ipState{}
		a.clients[client] = st
		if len(a.clients) > 2*a.cfg.MaxConns {
			a.pruneLocked(now)
		}
	}
	// A connection counts in its own address's rate, refused or not; it
	// never counts in the load every client pays (priceLocked).
	st.rate.add(now)
	if st.conns >= a.cfg.MaxConnsPerIP {
		return price{}, &a.refuse.perIP
	}
	if len(a.slots) >= a.cfg.MaxConns {
		victim := a.victimLocked()
		if victim == nil {
			return price{}, &a.refuse.full
		}
		a.closeLocked(victim, closedEvicted)
	}
	if st.key == "" {
		st.key = clientKeyString(client)
		st.resource = resource(st.key, a.cfg.Name)
	}
	a.seq++
	*s = slot{conn: conn, client: client, st: st, at: len(a.silent), seq: a.seq, allowed: allowed}
	a.silent = append(a.silent, s)
	a.slots[s] = struct{}{}
	st.conns++
	a.metrics.handshakes.Set(float64(len(a.silent)))
	if allowed {
		a.metrics.allowlisted.Inc()
		return a.allowedPriceLocked(now), nil
	}
	return a.priceLocked(st, now), nil
}

// allowedPriceLocked is the price of a client in Config.AllowNetworks: the
// base difficulty (none with AllowFree), and the window for it.
func (a *admission) allowedPriceLocked(now time.Time) price {
	bits := a.cfg.Difficulty
	if a.cfg.AllowFree {
		bits = 0
	}
	a.noteLoadLocked(a.loadBits, now)
	return price{bits: bits, window: a.cfg.solveWindow(bits)}
}

// victimLocked picks the silent handshake to close: among up to
// evictSample of them chosen at random, the one whose address holds the
// most connections, and of those the oldest. A heavy holder goes first.
// Sampled, not the oldest of all, so that the choice costs O(1); the oldest
// of the sample, because a silent connection that has waited long is one
// whose client either holds it open for nothing or, solving slowly, will
// present its stamp on a new connection anyway, while a client that just
// connected to present a stamp is the youngest and almost never closed:
// it is picked only if every other sampled slot is younger still.
func (a *admission) victimLocked() *slot {
	n := len(a.silent)
	if n == 0 {
		return nil
	}
	var best *slot
	consider := func(s *slot) {
		if s.allowed {
			return // never closed for a stranger
		}
		if best == nil || s.st.conns > best.st.conns || s.st.conns == best.st.conns && s.seq < best.seq {
			best = s
		}
	}
	if n <= evictSample {
		for _, s := range a.silent {
			consider(s)
		}
		return best
	}
	for range evictSample {
		consider(a.silent[rand.IntN(n)])
	}
	return best
}

// closeLocked takes s off the table and closes its connection for why.
// A TCP connection is only shut for reading, which wakes its session at
// once, so the session can tell the client why and close; anything else is
// closed here.
func (a *admission) closeLocked(s *slot, why closeKind) {
	s.closed = why
	a.releaseLocked(s)
	if tc, ok := s.conn.(interface{ CloseRead() error }); ok {
		tc.CloseRead()
		return
	}
	s.conn.Close()
}

// answered marks that the first byte of s's answer arrived: from now on
// admission never closes it. It reports false when admission closed it
// already.
func (a *admission) answered(s *slot) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s.closed != notClosed {
		return false
	}
	a.unsilenceLocked(s)
	return true
}

// closedFor reports why admission closed s, if it did.
func (a *admission) closedFor(s *slot) closeKind {
	a.mu.Lock()
	defer a.mu.Unlock()
	return s.closed
}

// release frees s's slot when its session ends, and counts its proof in
// the load if it redeemed one.
func (a *admission) release(s *slot, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s.redeemed {
		a.proofs.add(now)
	}
	if s.closed == notClosed {
		a.releaseLocked(s)
	}
}

func (a *admission) releaseLocked(s *slot) {
	a.unsilenceLocked(s)
	delete(a.slots, s)
	s.st.conns--
}

func (a *admission) unsilenceLocked(s *slot) {
	if s.at < 0 {
		return
	}
	last := len(a.silent) - 1
	a.silent[s.at] = a.silent[last]
	a.silent[s.at].at = s.at
	a.silent[last] = nil
	a.silent = a.silent[:last]
	s.at = -1
	a.metrics.handshakes.Set(float64(len(a.silent)))
}

// evictOne closes one silent handshake, as when the table is full, and
// reports whether there was one: an accept loop calls it when the process
// ran out of descriptors.
func (a *admission) evictOne() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	victim := a.victimLocked()
	if victim == nil {
		return false
	}
	a.closeLocked(victim, closedEvicted)
	return true
}

// close refuses every later connection and closes every silent handshake;
// it returns how many it closed and how many sessions go on (those whose
// answer arrived).
func (a *admission) close() (closed, going int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	closed = len(a.silent)
	for len(a.silent) > 0 {
		a.closeLocked(a.silent[len(a.silent)-1], closedShutdown)
	}
	return closed, len(a.slots)
}

// closeAll closes every connection that still has a slot: shutdown's
// deadline passed.
func (a *admission) closeAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for s := range a.slots {
		s.conn.Close()
	}
}

// pruneLocked forgets addresses with no connection whose rate has decayed
// to calm, and, if that is not enough, every address with no connection.
func (a *admission) pruneLocked(now time.Time) {
	for k, st := range a.clients {
		if st.conns == 0 && st.rate.at(now) < calmIPRate {
			delete(a.clients, k)
		}
	}
	if len(a.clients) > a.cfg.MaxConns {
		for k, st := range a.clients {
			if st.conns == 0 {
				delete(a.clients, k)
			}
		}
	}
}

// priceLocked is the difficulty and the window for a client now.
//
// Bits: the base, plus load bits (everyone pays), plus bits for the
// client's own connection rate and, when it holds several connections at
// once, for how full the table is; all extra bits capped at MaxExtraBits.
//
// The load bits follow the rate of proofs the server verified and spent:
// one for each doubling above CalmProofRate. Only a client that solved
// at the current price can add to that rate, so raising the price slows
// exactly the clients that cause it. Connections refused at admission and
// handshakes that stay silent never count there: a flood of them could
// otherwise raise every honest client's price at no cost to itself (a
// re-dial flood did, when this rate counted accepted connections). They
// are charged to their own addresses instead: client bits, the per-address
// cap, and eviction, which bounds the memory idle sockets hold.
//
// Window: sized for the base and load bits only, so that bits an address
// earned with its own connection rate (refused connections count) never
// buy it a longer hold on a slot. Under load, when connections fill an
// eighth of the table, it is AnswerWindow: a client that cannot answer in
// it solves off the connection and redeems the stamp on a new one.
func (a *admission) priceLocked(st *ipState, now time.Time) price {
	load := 0
	if a.cfg.MaxExtraBits > 0 {
		load = min(extraBits(a.proofs.at(now), a.cfg.CalmProofRate), a.cfg.MaxExtraBits)
	}
	a.noteLoadLocked(load, now)
	window := a.cfg.solveWindow(a.cfg.Difficulty + load)
	if len(a.slots)*8 >= a.cfg.MaxConns {
		window = min(window, a.cfg.AnswerWindow)
	}
	if a.cfg.MaxExtraBits <= 0 {
		return price{bits: a.cfg.Difficulty, window: window}
	}
	client := extraBits(st.rate.at(now), calmIPRate)
	if st.conns > 1 {
		client += fillBits(len(a.silent), a.cfg.MaxConns)
	}
	return price{bits: a.cfg.Difficulty + min(load+client, a.cfg.MaxExtraBits), window: window}
}

// noteLoadLocked exports a change of the load bits and logs it, at most
// once a second: at a threshold the load part can flip on every accept.
func (a *admission) noteLoadLocked(load int, now time.Time) {
	if load != a.loadBits {
		a.loadBits = load
		a.metrics.difficulty.Set(float64(a.cfg.Difficulty + load))
	}
	if load != a.loggedBits && now.Sub(a.loggedAt) >= time.Second {
		a.loggedBits, a.loggedAt = load, now
		a.log.Info("difficulty changed",
			zap.Int("bits", a.cfg.Difficulty+load), zap.Int("base", a.cfg.Difficulty), zap.Int("load_extra", load),
			zap.Int("handshakes", len(a.silent)), zap.Float64("proof_rate", a.proofs.at(now)))
	}
}
