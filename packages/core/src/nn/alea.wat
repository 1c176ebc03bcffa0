;; The dropout keep mask from alea's stream, in WebAssembly (alea.ts explains the numbers).
;;
;; alea is a multiply-with-carry generator of lag 3. In integers (x in [0, 2^32), carry c):
;;
;;     t = 2091639 * x[n-3] + c[n-1],   x[n] = t mod 2^32,   c[n] = t >> 32
;;
;; t < 2^53, so this is what seedrandom computes in float64, without the float64 rounding and
;; truncation that make each JavaScript draw wait about 15 ns for the one before: here a draw
;; waits for one add and one shift. Draw n keeps its element when x[n] >= $T (the threshold
;; alea.ts derives from tfjs's float32 test), and the mask byte is 1 or 0.
;;
;; Memory: the state at $st as four u64 (x[n-3], x[n-2], x[n-1], c[n-1]), read before and
;; written back after, so that a long mask is filled in pieces; the mask at $out, $n bytes.
(module
  (memory (export "memory") 1)
  (func (export "fillKeepMask") (param $out i32) (param $n i32) (param $T i64) (param $st i32)
    (local $x0 i64) (local $x1 i64) (local $x2 i64) (local $c i64) (local $t i64) (local $end i32)
    (local.set $x0 (i64.load offset=0 (local.get $st)))
    (local.set $x1 (i64.load offset=8 (local.get $st)))
    (local.set $x2 (i64.load offset=16 (local.get $st)))
    (local.set $c (i64.load offset=24 (local.get $st)))
    ;; Three draws a turn, so that x0, x1, x2 take turns as x[n-3] without being moved.
    (local.set $end (i32.add (local.get $out) (i32.sub (local.get $n) (i32.rem_u (local.get $n) (i32.const 3)))))
    (block $turns
      (loop $turn
        (br_if $turns (i32.ge_u (local.get $out) (local.get $end)))
        (local.set $t (i64.add (i64.mul (local.get $x0) (i64.const 2091639)) (local.get $c)))
        (local.set $x0 (i64.and (local.get $t) (i64.const 0xffffffff)))
        (local.set $c (i64.shr_u (local.get $t) (i64.const 32)))
        (i32.store8 offset=0 (local.get $out) (i64.ge_u (local.get $x0) (local.get $T)))
        (local.set $t (i64.add (i64.mul (local.get $x1) (i64.const 2091639)) (local.get $c)))
        (local.set $x1 (i64.and (local.get $t) (i64.const 0xffffffff)))
        (local.set $c (i64.shr_u (local.get $t) (i64.const 32)))
        (i32.store8 offset=1 (local.get $out) (i64.ge_u (local.get $x1) (local.get $T)))
        (local.set $t (i64.add (i64.mul (local.get $x2) (i64.const 2091639)) (local.get $c)))
        (local.set $x2 (i64.and (local.get $t) (i64.const 0xffffffff)))
        (local.set $c (i64.shr_u (local.get $t) (i64.const 32)))
        (i32.store8 offset=2 (local.get $out) (i64.ge_u (local.get $x2) (local.get $T)))
        (local.set $out (i32.add (local.get $out) (i32.const 3)))
        (br $turn)))
    ;; The last n mod 3 draws, one at a time, shifting the state as alea does.
    (block $rest
      (loop $draw
        (br_if $rest (i32.ge_u (local.get $out) (i32.add (local.get $end) (i32.rem_u (local.get $n) (i32.const 3)))))
        (local.set $t (i64.add (i64.mul (local.get $x0) (i64.const 2091639)) (local.get $c)))
        (local.set $x0 (local.get $x1))
        (local.set $x1 (local.get $x2))
        (local.set $x2 (i64.and (local.get $t) (i64.const 0xffffffff)))
        (local.set $c (i64.shr_u (local.get $t) (i64.const 32)))
        (i32.store8 (local.get $out) (i64.ge_u (local.get $x2) (local.get $T)))
        (local.set $out (i32.add (local.get $out) (i32.const 1)))
        (br $draw)))
    (i64.store offset=0 (local.get $st) (local.get $x0))
    (i64.store offset=8 (local.get $st) (local.get $x1))
    (i64.store offset=16 (local.get $st) (local.get $x2))
    (i64.store offset=24 (local.get $st) (local.get $c)))
)
