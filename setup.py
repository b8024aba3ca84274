from setuptools import find_packages, setup

setup(
    name='swiftformer_mm',
    version='0.1.0',
    description='SwiftFormer backbone (ICCV 2023) for OpenMMLab 2.0: mmdet and mmseg',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    packages=find_packages(include=['swiftformer_mm', 'swiftformer_mm.*']),
    install_requires=['torch>=2.7', 'mmengine>=0.10.0,<1.0'],
    extras_require={
        'det': ['mmcv>=2.0.0,<2.2.0', 'mmdet>=3.0.0,<3.4.0'],
        'seg': ['mmcv>=2.0.0,<2.2.0', 'mmsegmentation>=1.0.0,<1.3.0', 'ftfy', 'regex'],
        'onnx': ['onnx', 'onnxruntime'],
        'benchmark': ['transformers>=4.30', 'matplotlib'],
    },
)
