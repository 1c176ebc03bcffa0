"""Writes packages/core/xla-kernels/: the fused kernels of the tensorflow backend, as a SavedModel.

libtensorflow runs tfjs's ops one kernel at a time, and each elementwise kernel is a pass over
memory. The chains below are the longest of a Transformer's training step (the feed-forward
block's bias, exact GELU and dropout: nine passes forward and ten backward over [tokens, hidden]);
compiled by XLA (`jit_compile=True`) each is one loop. The backend loads this SavedModel at
start-up and nn/fused.ts calls its signatures through tfjs-node's session path, which hands
the tensors over without copying. nn/fused.ts documents each signature; keep the two in step.

Run with a Python that has TensorFlow (the version the backend's libtensorflow comes from is
the safest, e.g. a venv with the wheel that `flowformer setup tensorflow --from` was given):

    python3 scripts/build-xla-kernels.py           # rewrite packages/core/xla-kernels
    python3 scripts/build-xla-kernels.py --check   # exit 1 if it differs from this file

The output is byte-for-byte reproducible with one TensorFlow version. packages/core/test/
xla-kernels.test.ts checks every signature against the unfused ops on the tensorflow backend.
"""
import filecmp
import os
import shutil
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
import tensorflow as tf  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'packages', 'core', 'xla-kernels')

SQRT1_2 = 0.7071067811865476  # 1 / sqrt(2)
INV_SQRT_2PI = 0.3989422804014327  # 1 / sqrt(2 pi)

MATRIX = tf.TensorSpec([None, None], tf.float32)  # [N, F]
ROW = tf.TensorSpec([None], tf.float32)  # [F]
# [N, F], or [1, 1] (true) when nothing is dropped: tf.where broadcasts it.
KEEP = tf.TensorSpec([None, None], tf.bool)
SCALAR = tf.TensorSpec([], tf.float32)
BATCH = tf.TensorSpec([None, None, None], tf.float32)  # [M, n, D]


def multiplier(keep, scale):
    """Dropout's factor, scale where kept and 0 elsewhere. Multiplied, not selected, as tfjs does:
    a dropped negative value is then -0, so the output has tf.dropout's bits."""
    return tf.where(keep, scale, 0.0)


class Kernels(tf.Module):
    @tf.function(jit_compile=True, input_signature=[MATRIX, ROW, KEEP, SCALAR])
    def bias_gelu_dropout(self, h, bias, keep, scale):
        """y = dropout(gelu(h + bias)): exact GELU x Phi(x), inverted dropout (kept * scale)."""
        x = h + bias
        phi = 0.5 * (1.0 + tf.math.erf(x * SQRT1_2))
        return {'y': x * phi * multiplier(keep, scale)}

    @tf.function(jit_compile=True, input_signature=[MATRIX, MATRIX, ROW, KEEP, SCALAR])
    def bias_gelu_dropout_grad(self, dy, h, bias, keep, scale):
        """Gradients of bias_gelu_dropout: d/dx x Phi(x) = Phi(x) + x phi(x), Phi recomputed from h."""
        x = h + bias
        phi = 0.5 * (1.0 + tf.math.erf(x * SQRT1_2))
        density = tf.exp(-0.5 * x * x) * INV_SQRT_2PI
        dh = dy * multiplier(keep, scale) * (phi + x * density)
        return {'dh': dh, 'dbias': tf.reduce_sum(dh, 0)}

    @tf.function(jit_compile=True, input_signature=[MATRIX, KEEP, SCALAR])
    def dropout(self, x, keep, scale):
        """Inverted dropout with a drawn mask: x times scale where kept, else 0. Also its own gradient."""
        return {'y': x * multiplier(keep, scale)}

    @tf.function(jit_compile=True, input_signature=[MATRIX, ROW, ROW, SCALAR])
    def layer_norm(self, x, weight, bias, eps):
        """LayerNorm over the last axis (biased variance), as PyTorch's; also 1 / sqrt(var + eps) per row."""
        centred = x - tf.reduce_mean(x, -1, keepdims=True)
        rstd = tf.math.rsqrt(tf.reduce_mean(tf.square(centred), -1, keepdims=True) + eps)
        return {'y': centred * rstd * weight + bias, 'rstd': rstd}

    @tf.function(jit_compile=True, input_signature=[MATRIX, MATRIX, tf.TensorSpec([None, 1], tf.float32), ROW])
    def layer_norm_grad(self, dy, x, rstd, weight):
        """Gradients of layer_norm: dx = rstd (g - mean(g) - xhat mean(g xhat)), g = dy weight."""
        xhat = (x - tf.reduce_mean(x, -1, keepdims=True)) * rstd
        g = dy * weight
        dx = rstd * (g - tf.reduce_mean(g, -1, keepdims=True) - xhat * tf.reduce_mean(g * xhat, -1, keepdims=True))
        return {'dx': dx, 'dweight': tf.reduce_sum(dy * xhat, 0), 'dbias': tf.reduce_sum(dy, 0)}

    @tf.function(jit_compile=True, input_signature=[BATCH, BATCH, BATCH, BATCH])
    def flow_feature_grad(self, d, phi, u, w):
        """Flow-Attention's gradient of q (or k) from its features phi = sigmoid(q): the product's
        gradient d [M, n, D] plus four rank-one terms u_j w_j (u [M, n, 4], w [M, 4, D]), times
        sigmoid's derivative phi (1 - phi) (attention/flow-fused.ts)."""
        t = d
        for j in range(4):
            t = t + u[:, :, j:j + 1] * w[:, j:j + 1, :]
        return {'dx': t * (phi * (1.0 - phi))}

    @tf.function(jit_compile=True, input_signature=[MATRIX, MATRIX])
    def sigmoid_grad(self, y, dy):
        """Gradient of y = sigmoid(x) from y, as tfjs writes it: dy * (y * (1 - y))."""
        return {'dx': dy * (y * (1.0 - y))}


def same_tree(a, b):
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    return not mismatch and not errors and all(same_tree(os.path.join(a, d), os.path.join(b, d)) for d in cmp.common_dirs)


def main():
    k = Kernels()
    names = ('bias_gelu_dropout', 'bias_gelu_dropout_grad', 'dropout', 'layer_norm', 'layer_norm_grad', 'sigmoid_grad', 'flow_feature_grad')
    signatures = {name: getattr(k, name) for name in names}
    tmp = OUT + '.tmp'
    shutil.rmtree(tmp, ignore_errors=True)
    tf.saved_model.save(k, tmp, signatures=signatures)
    # Only the graph is needed: there are no variables or assets (git keeps no empty folders).
    for extra in ('variables', 'assets', 'fingerprint.pb'):
        p = os.path.join(tmp, extra)
        if os.path.isdir(p) and not os.listdir(p):
            os.rmdir(p)
        elif os.path.isfile(p):
            os.remove(p)
    if '--check' in sys.argv[1:]:
        same = os.path.isdir(OUT) and same_tree(tmp, OUT)
        shutil.rmtree(tmp)
        print(f'{os.path.relpath(OUT)} {"matches" if same else "DIFFERS from"} this script under TensorFlow {tf.__version__}')
        sys.exit(0 if same else 1)
    shutil.rmtree(OUT, ignore_errors=True)
    os.rename(tmp, OUT)
    print(f'wrote {os.path.relpath(OUT)} with TensorFlow {tf.__version__}: {", ".join(signatures)}')


if __name__ == '__main__':
    main()
