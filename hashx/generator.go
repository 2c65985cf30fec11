package hashx

import "math/bits"

// The program generator: a port of the reference's program.c
// (hashx_program_generate), which simulates a superscalar CPU (three integer
// ports of an Ivy Bridge) to pick instructions and registers. Every choice,
// every draw from the random stream and every quirk (the order in which
// ports are tried, the retries with a narrower choice) matters for bit
// compatibility, so the loop follows the C's order of decisions. What it
// does not follow is the C's shape: instead of one path reading a template's
// fields, each instruction type has its own straight-line case with its
// template's properties as constants (no branch on a random template's
// fields), and the port map and register properties are bit sets.

// Opcodes, numbered as the reference's instr_type. The order matters:
// is_mul is "op <= opMul".
const (
	opUMulH  uint8 = iota // unsigned high multiplication by a register
	opSMulH               // signed high multiplication by a register
	opMul                 // multiplication by a register
	opSub                 // subtraction of a register
	opXor                 // xor with a register
	opAddRS               // addition of a shifted register
	opRor                 // rotation by a constant
	opAddC                // addition of a (sign-extended 32-bit) constant
	opXorC                // xor with a (sign-extended 32-bit) constant
	opTarget              // branch target
	opBranch              // conditional branch (taken at most once)
)

const (
	targetCycle        = 192 // instructions are generated until this cycle
	requirementSize    = 512 // program length a seed must give
	requirementMuls    = 192 // multiplications a program must have
	requirementLatency = 195 // critical path, in cycles, a program must have
	programSize        = 512 // HASHX_PROGRAM_MAX_SIZE
	portMapSize        = targetCycle + 4
	maxRetries         = 1
	branchBits         = 4 // LOG2_BRANCH_PROB: bits set in a branch mask
	noDisplacementReg  = 5 // r5 cannot be ADD_RS's destination (x86 lea)
)

// Execution ports (bit sets).
const (
	portP0   = 1
	portP1   = 2
	portP5   = 4
	portP01  = portP0 | portP1
	portP05  = portP0 | portP5
	portP015 = portP0 | portP1 | portP5
)

// The reference's instruction templates, as the cases of generate use them
// (latency; uops; immediate; whether dst must differ from src; the
// operation parameter). The group, for the no-repeat rules, is the op
// itself except that SUB_R shares ADD_RS's.
//
//	UMULH_R, SMULH_R  4  P1+P5     -          src may be dst  a random u32
//	MUL_R             3  P1        -          distinct        src
//	SUB_R, XOR_R      1  P015      -          distinct        src
//	ADD_RS            1  P01       u32&3      distinct        src
//	ROR_C             1  P05       u32&63≠0   (no src)        constant
//	ADD_C, XOR_C      1  P015      u32≠0      (no src)        constant
//	TARGET            1  P015+P015 -          (no registers)
//	BRANCH            1  P015+P015 4-bit mask (no registers)

// anyLookup is the reference's ANY item: the op for a random byte's low 3
// bits (2 on a retry, leaving only the ops without a source register).
var anyLookup = [8]uint8{opRor, opXorC, opAddC, opAddC, opSub, opXor, opXorC, opAddRS}

// groupOf is the op's group for the no-repeat rules.
var groupOf = [16]uint8{opUMulH, opSMulH, opMul, opAddRS, opXor, opAddRS, opRor, opAddC, opXorC, opTarget, opBranch}

// Item kinds of the 36-sub-cycle layout.
const (
	itemMul uint8 = iota
	itemTarget
	itemBranch
	itemWideMul
	itemAny
)

var programLayout = [36]uint8{
	itemMul, itemTarget, itemAny, itemMul, itemAny, itemAny,
	itemMul, itemAny, itemAny, itemMul, itemAny, itemAny,
	itemWideMul, itemAny, itemAny, itemMul, itemAny, itemAny,
	itemMul, itemBranch, itemAny, itemMul, itemAny, itemAny,
	itemWideMul, itemAny, itemAny, itemMul, itemAny, itemAny,
	itemMul, itemAny, itemAny, itemMul, itemAny, itemAny,
}

// The port map is a nibble per cycle (bit 0 P0, bit 1 P1, bit 2 P5 busy),
// sixteen cycles a word. The cycles from portMapSize up are marked busy,
// so that a search for a free port finds none there, as the reference's
// map ends.
const portWords = (portMapSize + 15) / 16

const nibbles = 0x1111111111111111 // bit 0 of every nibble

// Parameter classes of a register's last op, for byPar: 0..7 a source
// register, parConst a constant's op (0xffffffff), parOther a random u32
// (the high multiplications).
const (
	parConst = 8
	parOther = 9
)

// groupNone is a register's group before any write: no op's group.
const groupNone = 15

// generator is the reference's generator_ctx. The register_info array is
// kept as bit sets of the registers by the group of their last op and by
// its parameter, and the registers' ready cycles as 16-bit lanes, so that
// register selection is a few mask operations.
type generator struct {
	rng      sipRNG
	latency  int
	regLat   [2]uint64         // cycle when each register's value will be ready (lane i&3 of word i>>2)
	lastOp   [8]uint8          // group of the last op written to it (groupNone: none)
	parClass [8]uint8          // class of that op's parameter (0..7, parConst, parOther)
	lastPar  [8]uint32         // that parameter, for parOther
	byGroup  [16]uint8         // registers by lastOp
	byPar    [16]uint8         // registers by parClass
	ports    [portWords]uint64 // the port map
}

// b2u is 1 for true, 0 for false (compiled to a SETcc, no branch).
func b2u(b bool) uint {
	if b {
		return 1
	}
	return 0
}

// ready is the set of registers whose values are ready at cycle: in each
// lane, 0x8000+cycle-lat has its top bit set when lat <= cycle, and the
// multiplication gathers the four top bits.
//
//go:norace
func (g *generator) ready(cycle int) uint {
	const top = 0x8000800080008000
	const gather = 1<<45 | 1<<30 | 1<<15 | 1
	c := uint64(cycle) * 0x0001000100010001
	lo := ((top | c) - g.regLat[0]) & top >> 15 * gather >> 45 & 15
	hi := ((top | c) - g.regLat[1]) & top >> 15 * gather >> 45 & 15
	return uint(lo | hi<<4)
}

// nthBit[m<<3|k] is the index of the k-th lowest set bit of m.
var nthBit = func() (t [256 * 8]uint8) {
	for m := range 256 {
		k := 0
		for i := range 8 {
			if m&(1<<i) != 0 {
				t[m<<3|k] = uint8(i)
				k++
			}
		}
	}
	return
}()

// pick picks a register from the set m as the reference picks from its
// ascending list of candidates: none if m is empty, the only one without a
// draw, else the (u32 % count)-th.
//
//go:norace
func (g *generator) pick(m uint) (int, bool) {
	m &= 0xff
	n := bits.OnesCount8(uint8(m))
	if n == 0 {
		return 0, false
	}
	k := uint32(0)
	if n > 1 {
		k = fastMod(g.rng.u32(), n)
	}
	return int(nthBit[(m<<3|uint(k))&(256*8-1)]), true
}

// modMagic[n] is Lemire's M = 2^64/n rounded up, for fastMod.
var modMagic = [16]uint64{0, 0, ^uint64(0)/2 + 1, ^uint64(0)/3 + 1, ^uint64(0)/4 + 1,
	^uint64(0)/5 + 1, ^uint64(0)/6 + 1, ^uint64(0)/7 + 1, ^uint64(0)/8 + 1}

// fastMod is x % n for 2 <= n <= 8 without a division (Lemire, Kaser and
// Kurz, "Faster remainder by direct computation", exact for 32-bit x).
func fastMod(x uint32, n int) uint32 {
	hi, _ := bits.Mul64(modMagic[n&15]*uint64(x), uint64(n))
	return uint32(hi)
}

// sameOp is the set of registers whose last op is group with parameter
// class par (0..7 or parConst), which a destination must avoid: not the
// same operation with the same parameter twice in a row.
//
//go:norace
func (g *generator) sameOp(group uint8, par int) uint {
	return uint(g.byGroup[group&15] & g.byPar[par&15&7|par&8])
}

// sameOpOther is sameOp for a random parameter (a high multiplication's).
//
//go:norace
func (g *generator) sameOpOther(group uint8, par uint32) uint {
	var eq uint
	for i := range 8 {
		eq |= b2u(g.lastPar[i] == par) << i
	}
	return uint(g.byGroup[group&15]&g.byPar[parOther]) & eq
}

// freeMask is, for the nibbles of w, bit 0 set where a uop for the ports
// in set finds one free.
func freeMask(w uint64, set uint64) uint64 {
	f := ^w & (set * nibbles)
	return (f | f>>1 | f>>2) & nibbles
}

// schedule is the first cycle from cycle on at which a uop for the ports
// in set can issue, or -1. With wide, both a P1 and a P5 uop must be able
// to issue in it (the reference schedules two-uop instructions in one
// cycle; for TARGET and BRANCH, both P015, that is just a free port).
//
//go:norace
func (g *generator) schedule(set uint64, wide bool, cycle int) int {
	w := cycle >> 4
	first := ^uint64(0) << (cycle & 15 * 4)
	for ; w < portWords; w++ {
		p := g.ports[w]
		var f uint64
		if wide {
			f = ^p >> 1 & (^p >> 2) & nibbles
		} else {
			f = freeMask(p, set)
		}
		if f &= first; f != 0 {
			return w<<4 + bits.TrailingZeros64(f)>>2
		}
		first = ^uint64(0)
	}
	return -1
}

// portPick is the port a uop takes among the free ones (a nibble):
// P5, then P0, then P1.
var portPick = [8]uint8{0, portP0, portP1, portP0, portP5, portP5, portP5, portP5}

// commit marks the port a uop for the ports in set takes at the first
// cycle from cycle on where one is free, as the reference's schedule_uop.
//
//go:norace
func (g *generator) commit(set uint64, cycle int) {
	w, sh := cycle>>4, uint(cycle&15*4)
	f := ^(g.ports[w%portWords] >> sh) & set & 7
	if f == 0 {
		// Only the second uop of TARGET or BRANCH can find its cycle full.
		cycle = g.schedule(set, false, cycle)
		if cycle < 0 {
			return
		}
		w, sh = cycle>>4, uint(cycle&15*4)
		f = ^(g.ports[w%portWords] >> sh) & set & 7
	}
	g.ports[w%portWords] |= uint64(portPick[f]) << sh
}

// setDst records that the register d is written by an op of group with
// parameter par (of class class), ready at cycle retire.
//
//go:norace
func (g *generator) setDst(d int, group uint8, class int, par uint32, retire int) {
	d &= 7
	bit := uint8(1) << d
	g.byGroup[g.lastOp[d]&15] &^= bit
	g.byGroup[group&15] |= bit
	g.byPar[g.parClass[d]&15] &^= bit
	g.byPar[class&15] |= bit
	g.lastOp[d] = group
	g.parClass[d] = uint8(class)
	g.lastPar[d] = par
	sh := uint(d&3) * 16
	g.regLat[d>>2] = g.regLat[d>>2]&^(0xffff<<sh) | uint64(retire)<<sh
	g.latency = max(g.latency, retire)
}

// branchMask draws a mask of branchBits distinct bits.
//
//go:norace
func (g *generator) branchMask() uint32 {
	var mask uint32
	for n := 0; n < branchBits; {
		bit := uint32(1) << (g.rng.u8() % 32)
		if mask&bit == 0 {
			mask |= bit
			n++
		}
	}
	return mask
}

// nonZero32 draws u32s masked by mask until one is not zero.
//
//go:norace
func (g *generator) nonZero32(mask uint32) uint32 {
	for {
		if x := g.rng.u32() & mask; x != 0 {
			return x
		}
	}
}

// generate fills p from the key's random stream and reports whether the
// program meets the reference's requirements (code size 512, 192
// multiplications, latency 195 cycles).
//
// Each iteration is the reference's: choose an op for the layout's item
// (with its immediate, and its parameter for a high multiplication), find
// the cycle its uops can issue, choose the source, then the destination
// among the registers ready then, and commit. When no register fits, the
// instruction is retried once (choosing among the ops without a source,
// and allowing a multiplication on the result of a multiplication), then
// the generator moves on a cycle.
//
//go:norace
func generate(key *sipState, p *program) bool {
	var g generator
	g.rng.init(key)
	p.reset()
	for i := range 8 {
		g.lastOp[i] = groupNone
		g.parClass[i] = parConst
		g.lastPar[i] = 0xffffffff
	}
	g.byGroup[groupNone] = 0xff
	g.byPar[parConst] = 0xff
	for c := portMapSize; c < portWords*16; c++ {
		g.ports[c>>4] |= 7 << (c & 15 * 4)
	}
	attempt := 0
	lastGroup := uint8(groupNone)
	subCycle, cycle := 0, 0
	muls := 0
	n := 0
loop:
	for n < programSize {
		switch programLayout[subCycle%36] {
		case itemMul:
			lastGroup = opMul
			sc := g.schedule(portP1, false, cycle)
			if sc < 0 {
				break loop
			}
			ready := g.ready(sc)
			src, ok := g.pick(ready)
			if !ok {
				goto fail
			}
			m := ready &^ (1 << src) &^ g.sameOp(opMul, src)
			if attempt == 0 {
				m &^= uint(g.byGroup[opMul]) // no chained multiplications
			}
			dst, ok := g.pick(m)
			if !ok {
				goto fail
			}
			attempt = 0
			if sc >= targetCycle {
				break loop
			}
			g.commit(portP1, sc)
			g.setDst(dst, opMul, src, uint32(src), sc+3)
			p.code[p.n%programSize] = instr{ctl: ctl(kindMul, dst, src, 0)}
			p.n++
			muls++
			subCycle++

		case itemWideMul:
			op := opSMulH
			if g.rng.u8()&1 != 0 {
				op = opUMulH
			}
			lastGroup = op
			par := g.rng.u32()
			sc := g.schedule(0, true, cycle)
			if sc < 0 {
				break loop
			}
			ready := g.ready(sc)
			src, ok := g.pick(ready)
			if !ok {
				goto fail
			}
			dst, ok := g.pick(ready &^ g.sameOpOther(op, par))
			if !ok {
				goto fail
			}
			attempt = 0
			if sc >= targetCycle {
				break loop
			}
			g.commit(portP1, sc)
			g.commit(portP5, sc)
			g.setDst(dst, op, parOther, par, sc+4)
			kind := kindSMulH
			if op == opUMulH {
				kind = kindUMulH
			}
			p.code[p.n%programSize] = instr{ctl: ctl(kind, dst, src, 0)}
			p.n++
			muls++
			subCycle += 2

		case itemTarget, itemBranch:
			isBranch := programLayout[subCycle%36] == itemBranch
			var mask uint32
			if isBranch {
				lastGroup = opBranch
				mask = g.branchMask()
			} else {
				lastGroup = opTarget
			}
			sc := g.schedule(portP015, false, cycle)
			if sc < 0 {
				break loop
			}
			attempt = 0
			if sc >= targetCycle {
				break loop
			}
			g.commit(portP015, sc)
			g.commit(portP015, sc)
			if isBranch {
				p.code[p.n%programSize] = instr{ctl: kindBranch, k: uint64(p.resume), c: uint64(mask)}
				p.n++
			} else {
				p.resume = p.n
			}
			subCycle += 2

		default:
			mask := uint8(7)
			if attempt > 0 {
				mask = 3 // only the ops without a source register
			}
			var op uint8
			for {
				op = anyLookup[g.rng.u8()&mask]
				if groupOf[op] != lastGroup {
					break
				}
			}
			group := groupOf[op]
			lastGroup = group
			var e instr
			var set uint64
			var imm uint32
			switch op {
			case opRor:
				imm = g.nonZero32(63)
				set = portP05
			case opAddC, opXorC:
				imm = g.nonZero32(0xffffffff)
				set = portP015
			case opAddRS:
				imm = g.rng.u32() & 3
				set = portP01
			default: // opSub, opXor
				set = portP015
			}
			sc := g.schedule(set, false, cycle)
			if sc < 0 {
				break loop
			}
			ready := g.ready(sc)
			var dst, src, class int
			var par uint32
			var ok bool
			if op >= opRor {
				// No source: the parameter is a constant's.
				dst, ok = g.pick(ready &^ g.sameOp(group, parConst))
				if !ok {
					goto fail
				}
				src, class, par = 0, parConst, 0xffffffff
				e.ctl = ctl(kindALU, dst, 0, imm)
				if op != opRor {
					e = instr{ctl: ctl(kindALU, dst, 0, 0), c: uint64(int64(int32(imm)))}
					if op == opXorC {
						e.xor = ^uint64(0)
					}
				}
			} else {
				m := ready
				if op == opAddRS && bits.OnesCount8(uint8(m)) == 2 && m&(1<<noDisplacementReg) != 0 {
					// With only two registers ready, one of them r5, r5
					// must be the source: it cannot be the destination.
					src = noDisplacementReg
				} else if src, ok = g.pick(m); !ok {
					goto fail
				}
				m = ready &^ (1 << src) &^ g.sameOp(group, src)
				if op == opAddRS {
					m &^= 1 << noDisplacementReg
				}
				if dst, ok = g.pick(m); !ok {
					goto fail
				}
				class, par = src, uint32(src)
				e.ctl = ctl(kindALU, dst, src, 0)
				switch op {
				case opSub:
					e.k = ^uint64(0)
				case opXor:
					e.k, e.xor = 1, ^uint64(0)
				default:
					e.k = 1 << imm
				}
			}
			attempt = 0
			if sc >= targetCycle {
				break loop
			}
			g.commit(set, sc)
			g.setDst(dst, group, class, par, sc+1)
			p.code[p.n%programSize] = e
			p.n++
			subCycle++
		}
		n++
		cycle = subCycle / 3
		continue

	fail:
		if attempt < maxRetries {
			attempt++
			continue
		}
		subCycle += 3
		cycle = subCycle / 3
		attempt = 0
	}
	return n == requirementSize && muls == requirementMuls && g.latency == requirementLatency-1
}
