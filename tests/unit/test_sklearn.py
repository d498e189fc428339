import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

from lifelong.sklearn import LifelongClassifier, LifelongRegressor, LifelongTextClassifier


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@parametrize_with_checks([LifelongClassifier(), LifelongRegressor(), LifelongTextClassifier()])
def test_sklearn_checks(estimator, check):
    check(estimator)
