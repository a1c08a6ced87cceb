"""One PBKDF2 iteration instead of a million for the passwords of the tests that need no service
(tests/conftest.py `fast_password_hashing`): the same algorithm and checks, but a `make_user`
costs microseconds instead of ~0.6 s of CPU, which was half the time of those tests.

Not for tests with a daphne or a worker: the product's settings there would re-hash such a
password at its first login, and a re-hash changes the hash the user's sessions are tied to."""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class OneIterationPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1
