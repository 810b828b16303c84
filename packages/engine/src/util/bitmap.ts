/** Bit helpers over byte arrays (bit i lives in byte i>>3, LSB first). */
export function testBit(bits: Uint8Array, i: number): boolean {
  return ((bits[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
}

export function setBit(bits: Uint8Array, i: number): void {
  const j = i >> 3;
  bits[j] = (bits[j] ?? 0) | (1 << (i & 7));
}

export function clearBit(bits: Uint8Array, i: number): void {
  const j = i >> 3;
  bits[j] = (bits[j] ?? 0) & ~(1 << (i & 7));
}

export function setBits(bits: Uint8Array, from: number, to: number): void {
  for (let i = from; i < to; i++) setBit(bits, i);
}

export function clearBits(bits: Uint8Array, from: number, to: number): void {
  for (let i = from; i < to; i++) clearBit(bits, i);
}

/** True when some bit in [from, to) is set. */
export function anySet(bits: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (testBit(bits, i)) return true;
  return false;
}

/** True when every bit in [from, to) is set. */
export function allSet(bits: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!testBit(bits, i)) return false;
  return true;
}

export function isEmpty(bits: Uint8Array): boolean {
  for (const b of bits) if (b !== 0) return false;
  return true;
}

/** Number of set bits. */
export function countBits(bits: Uint8Array): number {
  let n = 0;
  for (let x of bits) {
    while (x !== 0) {
      x &= x - 1;
      n++;
    }
  }
  return n;
}
