"""Write tests/data/kapre041_tf220.keras with the real kapre 0.4.1 from PyPI.

Run it with a Python that has kapre==0.4.1 (e.g. benchmarks' .bench-venv: tensorflow-cpu 2.20, keras 3.13), from
outside the repository so that `import kapre` finds 0.4.1:
    cd /tmp && /path/to/.bench-venv/bin/python /path/to/make_kapre041_fixture.py /path/to/kapre041_tf220.keras
The model is the same front-end as tests/data/make_fixtures.py's.
"""
import sys

import keras
import numpy as np

import kapre
from kapre import STFT, ApplyFilterbank, ConcatenateFrequencyMap, Delta, Magnitude, MagnitudeToDecibel

print(kapre.__file__, getattr(kapre, '__version__', '?'), keras.__version__)
inp = keras.Input((4000, 1))
s = STFT(n_fft=512, hop_length=128, input_data_format='channels_last', output_data_format='channels_last')(inp)
m = Magnitude()(s)
mel_kwargs = {'sample_rate': 16000, 'n_freq': 257, 'n_mels': 40, 'f_min': 0.0, 'f_max': None, 'htk': False,
              'norm': 'slaney'}
mel = ApplyFilterbank(type='mel', filterbank_kwargs=mel_kwargs, data_format='channels_last')(m)
db = MagnitudeToDecibel()(mel)
d = Delta(win_length=5, data_format='channels_last')(db)
out = ConcatenateFrequencyMap(data_format='channels_last')(d)
model = keras.Model(inp, out)
model.save(sys.argv[1])
x = np.random.default_rng(0).uniform(-1, 1, (2, 4000, 1)).astype('float32')
print('ok', model(x).shape)
